// The gateway's Proxmox client against the simulator: API calls, the console websocket, the
// upstream RFB handshake, and every error code the control API reports.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { startSimulator, type Release, type Simulator } from '../../sim/index.js';
import { ByteReader } from '../../src/console/rfb/byte-reader.js';
import { readServerInitRenamed, SHARED_CLIENT_INIT } from '../../src/console/rfb/init.js';
import { authenticateUpstream } from '../../src/console/rfb/upstream.js';
import { toBuffer } from '../../src/proxmox/upstream-socket.js';
import { ProxmoxClient, type GuestType, type ProxmoxCredentials } from '../../src/proxmox/client.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import { checkConsoleAccess, resolveGuest } from '../../src/proxmox/guest.js';

const TOKEN: ProxmoxCredentials = { kind: 'apiToken', tokenId: 'vncuser@pve!console', secret: '11111111-2222-3333-4444-555555555555' };
const LISTENER_WAIT_MS = 1_500;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ProxmoxError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}, but it succeeded`),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof ProxmoxError, `expected a ProxmoxError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** vncproxy, the websocket, VNC authentication and ServerInit, as the bridge does them. */
async function openConsole(client: ProxmoxClient, creds: ProxmoxCredentials, node: string, type: GuestType, vmid: number) {
  const proxy = await client.vncproxy(creds, node, type, vmid);
  const ws = await client.openVncWebsocket(creds, node, type, vmid, proxy.port, proxy.ticket, { handshakeTimeoutMs: 5_000 });
  const reader = new ByteReader();
  ws.on('message', (data) => reader.push(toBuffer(data as Buffer)));
  ws.on('close', () => reader.fail());
  ws.resume();
  const send = (b: Buffer) => ws.send(b);
  try {
    await authenticateUpstream(reader, send, proxy.vncPassword);
    send(SHARED_CLIENT_INIT);
    const serverInit = await readServerInitRenamed(reader, 'renamed');
    return { ws, serverInit, proxy };
  } catch (err) {
    ws.terminate();
    throw err;
  }
}

function closeQuietly(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  const closed = once(ws, 'close').then(() => undefined);
  ws.terminate();
  return closed;
}

for (const release of ['current', '7'] as Release[]) {
  describe(`Proxmox client against the simulator (release ${release})`, () => {
    let sim: Simulator;
    let client: ProxmoxClient;
    let ticket: ProxmoxCredentials;

    before(async () => {
      sim = await startSimulator({ host: '127.0.0.2', port: 0, release, durations: { loginFailureDelayMs: 50, listenerWaitMs: LISTENER_WAIT_MS } });
      client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 5_000 });
      ticket = await client.login('vncuser@pve', 'vncpass');
    });
    after(async () => {
      await client.close();
      await sim.stop();
    });

    test('login, permissions and resources', async () => {
      assert.equal(ticket.kind, 'ticket');
      const privileges = await client.permissions(ticket, '/vms/100');
      assert.ok('VM.Console' in privileges && 'VM.Audit' in privileges);
      const guests = await client.resources(ticket);
      assert.deepEqual(
        guests.find((g) => g.vmid === 100),
        { vmid: 100, type: 'qemu', node: 'pve1', status: 'running', name: 'web01' },
      );
      assert.equal(guests.find((g) => g.vmid === 200)?.type, 'lxc');
      assert.equal((await client.guestStatus(ticket, 'pve1', 'qemu', 101)).status, 'stopped');
    });

    test('renewing a ticket yields a working ticket', async () => {
      assert.equal(ticket.kind, 'ticket');
      if (ticket.kind !== 'ticket') return;
      const renewed = await client.renew(ticket);
      assert.equal(renewed.username, 'vncuser@pve');
      assert.ok((await client.resources(renewed)).length > 0);
    });

    for (const [label, node, type, vmid] of [
      ['VM 100', 'pve1', 'qemu', 100],
      ['container 200', 'pve1', 'lxc', 200],
    ] as const) {
      test(`${label}: vncproxy, websocket, VNC auth and ServerInit with a ticket and with an API token`, async () => {
        for (const creds of [ticket, TOKEN]) {
          const { ws, serverInit } = await openConsole(client, creds, node, type, vmid);
          assert.ok(serverInit.readUInt16BE(0) > 0 && serverInit.readUInt16BE(2) > 0);
          assert.equal(serverInit.subarray(24).toString(), 'renamed');
          assert.equal(ws.protocol, 'binary');
          await closeQuietly(ws);
        }
      });
    }

    test('checkConsoleAccess: password login keeps a ticket; a token is kept as it is', async () => {
      const byPassword = await checkConsoleAccess(client, { kind: 'password', username: 'vncuser@pve', password: 'vncpass' }, { node: 'pve1', vmid: 100, type: 'qemu' });
      assert.equal(byPassword.credentials.kind, 'ticket');
      assert.deepEqual({ node: byPassword.node, type: byPassword.type, name: byPassword.name }, { node: 'pve1', type: 'qemu', name: 'web01' });
      const byToken = await checkConsoleAccess(client, TOKEN, { vmid: 200 });
      assert.equal(byToken.credentials, TOKEN);
      assert.deepEqual({ node: byToken.node, type: byToken.type, name: byToken.name }, { node: 'pve1', type: 'lxc', name: 'ct01' });
    });

    test('resolveGuest: missing node or type, and a migrated guest, come from the cluster list', async () => {
      assert.deepEqual(await resolveGuest(client, ticket, { vmid: 300 }), { node: 'pve2', type: 'qemu', name: 'app02', status: 'running' });
      assert.deepEqual(await resolveGuest(client, ticket, { vmid: 300, node: 'pve1', type: 'qemu' }), { node: 'pve2', type: 'qemu', name: 'app02', status: 'running' });
      assert.deepEqual(await resolveGuest(client, ticket, { vmid: 200, node: 'pve1' }), { node: 'pve1', type: 'lxc', name: 'ct01', status: 'running' });
    });

    test('error codes: wrong password, auditor, missing guest, stopped guest, unknown node', async () => {
      await rejectsWith(client.login('vncuser@pve', 'wrong'), 'proxmox_auth_failed');
      await rejectsWith(checkConsoleAccess(client, { kind: 'password', username: 'vncuser@pve', password: 'wrong' }, { vmid: 100 }), 'proxmox_auth_failed');
      await rejectsWith(checkConsoleAccess(client, { kind: 'apiToken', tokenId: TOKEN.kind === 'apiToken' ? TOKEN.tokenId : '', secret: 'bad' }, { vmid: 100 }), 'proxmox_auth_failed');
      await rejectsWith(checkConsoleAccess(client, { kind: 'password', username: 'auditor@pve', password: 'auditpass' }, { vmid: 100 }), 'permission_denied');
      await rejectsWith(checkConsoleAccess(client, ticket, { vmid: 999 }), 'guest_not_found');
      await rejectsWith(checkConsoleAccess(client, ticket, { vmid: 999, node: 'pve1', type: 'qemu' }), 'guest_not_found');
      await rejectsWith(checkConsoleAccess(client, ticket, { vmid: 101 }), 'guest_not_running');
      await rejectsWith(checkConsoleAccess(client, ticket, { vmid: 100, node: 'pve9', type: 'qemu' }), 'node_not_found');
      await rejectsWith(checkConsoleAccess(client, ticket, { vmid: 999, node: 'pve9' }), 'node_not_found');
    });

    test('a VNC ticket on a listener that expired gets no answer: proxmox_timeout from the dial', async () => {
      const proxy = await client.vncproxy(ticket, 'pve1', 'qemu', 100);
      await sleep(LISTENER_WAIT_MS + 300);
      const started = Date.now();
      const err = await rejectsWith(client.openVncWebsocket(ticket, 'pve1', 'qemu', 100, proxy.port, proxy.ticket, { handshakeTimeoutMs: 500 }), 'proxmox_timeout');
      assert.ok(Date.now() - started < 3_000);
      assert.equal(err.httpStatus, 504);
      assert.ok(!err.message.includes(proxy.ticket));
    });

    test('a stopped VM: vncproxy answers, the websocket closes without an RFB byte', async () => {
      await assert.rejects(openConsole(client, ticket, 'pve1', 'qemu', 101), /closed/);
    });
  });
}

describe('Proxmox client: TLS and reachability', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, durations: { loginFailureDelayMs: 50 } });
  });
  after(async () => {
    await sim.stop();
  });

  test('the cluster CA as proxmox_ca_file verifies the node certificate', async () => {
    const client = new ProxmoxClient({ hostname: sim.host, port: sim.port }, { timeoutMs: 5_000, caPem: sim.caPem });
    const creds = await client.login('vncuser@pve', 'vncpass');
    const { ws } = await openConsole(client, creds, 'pve1', 'qemu', 100);
    await closeQuietly(ws);
    await client.close();
  });

  test('a wrong pin, and no CA at all, are tls_verification_failed (also for the websocket)', async () => {
    const wrong = sim.fingerprint.startsWith('00') ? `11${sim.fingerprint.slice(2)}` : `00${sim.fingerprint.slice(2)}`;
    const pinned = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: wrong }, { timeoutMs: 5_000 });
    await rejectsWith(pinned.login('vncuser@pve', 'vncpass'), 'tls_verification_failed');
    await rejectsWith(pinned.openVncWebsocket(TOKEN, 'pve1', 'qemu', 100, 5900, 'PVEVNC:x', { handshakeTimeoutMs: 2_000 }), 'tls_verification_failed');
    const system = new ProxmoxClient({ hostname: sim.host, port: sim.port }, { timeoutMs: 5_000 });
    await rejectsWith(system.resources(TOKEN), 'tls_verification_failed');
    await Promise.all([pinned.close(), system.close()]);
  });

  test('a ticket for another port is refused (current releases bind it): proxmox_auth_failed', async () => {
    const client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 5_000 });
    const proxy = await client.vncproxy(TOKEN, 'pve1', 'qemu', 100);
    const err = await rejectsWith(client.openVncWebsocket(TOKEN, 'pve1', 'qemu', 100, proxy.port + 1, proxy.ticket, { handshakeTimeoutMs: 2_000 }), 'proxmox_auth_failed');
    assert.ok(!err.message.includes(proxy.ticket) && !err.message.includes(TOKEN.kind === 'apiToken' ? TOKEN.secret : ''));
    await client.close();
  });

  test('a closed port is proxmox_unreachable; a listener that never answers is proxmox_timeout', async () => {
    const silent = createServer();
    const accepted: Socket[] = [];
    silent.on('connection', (s) => accepted.push(s));
    silent.listen(0, '127.0.0.2');
    await once(silent, 'listening');
    const silentPort = (silent.address() as AddressInfo).port;

    const probe = createServer();
    probe.listen(0, '127.0.0.2');
    await once(probe, 'listening');
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const closed = new ProxmoxClient({ hostname: '127.0.0.2', port: closedPort }, { timeoutMs: 2_000 });
    await rejectsWith(closed.login('vncuser@pve', 'vncpass'), 'proxmox_unreachable');
    await rejectsWith(closed.openVncWebsocket(TOKEN, 'pve1', 'qemu', 100, 5900, 'PVEVNC:x', { handshakeTimeoutMs: 2_000 }), 'proxmox_unreachable');

    const hanging = new ProxmoxClient({ hostname: '127.0.0.2', port: silentPort }, { timeoutMs: 300 });
    const started = Date.now();
    await rejectsWith(hanging.login('vncuser@pve', 'vncpass'), 'proxmox_timeout');
    await rejectsWith(hanging.openVncWebsocket(TOKEN, 'pve1', 'qemu', 100, 5900, 'PVEVNC:x', { handshakeTimeoutMs: 300 }), 'proxmox_timeout');
    assert.ok(Date.now() - started < 3_000);
    await Promise.all([closed.close(), hanging.close()]);
    for (const s of accepted) s.destroy();
    silent.close();
  });
});
