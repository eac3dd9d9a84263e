// Issue 9, DNS rebinding: proxmox_hosts_allowed holds for the address each connection dials, not
// only for what the name resolved to at /create, which may have been hours earlier.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { ProxmoxClient } from '../../src/proxmox/client.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import { createHostPolicy, HostNotAllowedError } from '../../src/proxmox/host-policy.js';

describe('proxmox_hosts_allowed at every connection', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
  });
  after(async () => {
    await sim?.stop();
  });

  /** A resolver whose answer the test changes, as a rebinding attacker's DNS would. */
  const answers = new Map<string, string>();
  const lookup = async (host: string) => {
    const address = answers.get(host);
    if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address }];
  };
  const hosts = createHostPolicy(['127.0.0.2/32'], lookup);
  const client = (name: string) => new ProxmoxClient({ hostname: name, port: sim.port }, { timeoutMs: 5_000, caPem: sim.caPem, hosts });

  it('dials the address it checked, and refuses once the name resolves outside the list', async () => {
    // The simulator's certificate names pve1: found by the check, dialled at 127.0.0.2.
    answers.set('pve1', '127.0.0.2');
    assert.equal(await hosts.allows('pve1'), true, 'allowed at /create');
    const first = client('pve1');
    try {
      const ticket = await first.login('vncuser@pve', 'vncpass');
      assert.match(ticket.ticket, /^PVE:/);
    } finally {
      await first.close();
    }
    // Later, the name points elsewhere: the next connection must not go there.
    answers.set('pve1', '127.0.0.3');
    const later = client('pve1');
    try {
      const refused = await later.login('vncuser@pve', 'vncpass').then(() => null, (error: unknown) => error);
      assert.ok(refused instanceof ProxmoxError, String(refused));
      assert.equal(refused.code, 'proxmox_unreachable');
      let cause: unknown = refused.cause;
      while (cause instanceof Error && !(cause instanceof HostNotAllowedError)) cause = cause.cause;
      assert.ok(cause instanceof HostNotAllowedError, 'refused by the host policy, before any connection');
      assert.match(cause.message, /pve1 resolves to 127\.0\.0\.3/);
    } finally {
      await later.close();
    }
    assert.equal(await hosts.allows('pve1'), false, 'and /create refuses it now');
  });

  it('checks the certificate against the name, not the address it resolved to', async () => {
    // In the allowed range, but the simulator's certificate does not name it.
    answers.set('other.example', '127.0.0.2');
    const impostor = client('other.example');
    try {
      const refused = await impostor.login('vncuser@pve', 'vncpass').then(() => null, (error: unknown) => error);
      assert.ok(refused instanceof ProxmoxError);
      assert.equal(refused.code, 'tls_verification_failed');
    } finally {
      await impostor.close();
    }
  });

  it('allows listed names, and other names only when every address they resolve to is listed', async () => {
    const policy = createHostPolicy(['*.pve.example', '10.0.0.0/8'], async (host) =>
      host === 'mixed.example' ? [{ address: '10.1.2.3' }, { address: '192.0.2.1' }] : [{ address: '10.9.9.9' }],
    );
    assert.equal(await policy.allows('node1.pve.example'), true);
    assert.equal(await policy.allows('10.20.30.40'), true);
    assert.equal(await policy.allows('192.0.2.1'), false);
    assert.equal(await policy.allows('inside.example'), true);
    assert.equal(await policy.allows('mixed.example'), false, 'one address outside is enough to refuse');
    await assert.rejects(policy.addressFor('mixed.example'), HostNotAllowedError);
    assert.equal(await createHostPolicy([]).addressFor('anything.example'), 'anything.example', 'no list: the name is dialled as given');
  });
});
