// A session outliving its Proxmox ticket: the gateway renews tickets while sessions live, so a
// reconnect after the ticket's lifetime still opens the console. Proxmox's two hours are shortened
// to seconds in the simulator; the renewal age is shortened to match.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../../sim/index.js';
import type { CreateParams } from '../../src/control/create-params.js';
import { silentLogger } from '../../src/log.js';
import { ProxmoxClients } from '../../src/proxmox/clients.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import { ConsoleService } from '../../src/sessions/console-service.js';
import { LocalCoordination } from '../../src/sessions/coordination.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import type { SessionRecord } from '../../src/sessions/record.js';

/** Simulator ticket lifetime; tickets carry whole seconds, so one may end up to 1 s early. */
const TICKET_LIFETIME_MS = 6_000;
const RENEW_AFTER_MS = 2_000;

describe('Proxmox ticket renewal', () => {
  let sim: Simulator;
  let clients: ProxmoxClients;
  let service: ConsoleService;
  const store = new MemorySessionStore({ maxSessions: 100, maxViewersPerSession: 2, reconnectGraceMs: 3_600_000, idleTimeoutMs: 0 });

  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, durations: { ticketLifetimeMs: TICKET_LIFETIME_MS } });
    clients = new ProxmoxClients({ timeoutMs: 5_000, caPem: sim.caPem });
    service = new ConsoleService(clients, store, new LocalCoordination(), { maxSessionSeconds: 3_600 }, silentLogger, RENEW_AFTER_MS);
  });
  after(async () => {
    await clients?.close();
    await sim?.stop();
  });

  const newSession = async (): Promise<SessionRecord> => {
    const params: CreateParams = {
      hostname: '127.0.0.2',
      port: sim.port,
      vmid: 100,
      node: 'pve1',
      console: 'novnc',
      credentials: { kind: 'password', username: 'vncuser@pve', password: 'vncpass' },
      viewOnly: false,
      validate: true,
    };
    return (await store.create(await service.grant(params), 'test…')).record;
  };
  /** The session as the store has it now: renewal writes there. */
  const current = async (session: SessionRecord) => (await store.get(session.id)) ?? assert.fail('session gone');
  const ticketOf = (session: SessionRecord) => {
    assert.equal(session.grant.credentials.kind, 'ticket', 'validation exchanged the password for a ticket');
    return session.grant.credentials.kind === 'ticket' ? session.grant.credentials : assert.fail();
  };

  it('keeps a live session openable past its first ticket, where an unrenewed one fails', { timeout: 30_000 }, async () => {
    const renewed = await newSession();
    const unrenewed = await newSession();
    const first = ticketOf(renewed);
    const unrenewedTicket = ticketOf(unrenewed).ticket;

    await sleep(RENEW_AFTER_MS + 500);
    // The sweep renews only what it is given: the other session stands for a gateway without it.
    await service.renewStaleTickets([renewed]);
    assert.notEqual(ticketOf(await current(renewed)).ticket, first.ticket, 'a new ticket');
    assert.equal(ticketOf(await current(unrenewed)).ticket, unrenewedTicket, 'untouched');

    // Past the first tickets' lifetime: a renewal now would be refused, the ticket is dead.
    await sleep(Math.max(0, first.issuedAt + TICKET_LIFETIME_MS + 200 - Date.now()));
    const upstream = await service.openVncUpstream(await current(renewed));
    upstream.authenticated();
    upstream.ws.terminate();

    let refused: unknown;
    await service.openVncUpstream(await current(unrenewed)).then(
      (late) => {
        late.authenticated();
        late.ws.terminate();
      },
      (err: unknown) => (refused = err),
    );
    assert.ok(refused instanceof ProxmoxError, `the expired ticket is refused, got ${String(refused)}`);
    assert.equal(refused.code, 'proxmox_auth_failed');
  });

  it('leaves fresh tickets and API tokens alone', async () => {
    const fresh = await newSession();
    const created = await newSession();
    const withToken = { ...created, grant: { ...created.grant, credentials: { kind: 'apiToken' as const, tokenId: 'vncuser@pve!console', secret: '11111111-2222-3333-4444-555555555555' } } };
    const before = ticketOf(fresh).ticket;
    const logins = sim.stats().logins;
    await service.renewStaleTickets([fresh, withToken]);
    assert.equal(ticketOf(await current(fresh)).ticket, before);
    assert.equal(sim.stats().logins, logins, 'no call to /access/ticket');
  });
});
