// Ticket renewal without Proxmox and without waiting: ConsoleService judges tickets' ages by an
// injected clock, leases run on the same clock, and the sweep's interval on fake timers.
// (test/integration/ticket-renewal.test.ts shows the same against the simulator's real tickets.)
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { silentLogger } from '../../src/log.js';
import type { ProxmoxClients } from '../../src/proxmox/clients.js';
import type { TicketCredentials } from '../../src/proxmox/client.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import { ConsoleService } from '../../src/sessions/console-service.js';
import type { Coordination } from '../../src/sessions/coordination.js';
import type { GrantCredentials } from '../../src/sessions/grant.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import type { SessionRecord } from '../../src/sessions/record.js';
import { scheduleTicketRenewal } from '../../src/sessions/ticket-renewal.js';
import { ManualClock, settle, useMockTimers } from '../helpers/clock.js';
import { consoleGrant } from '../helpers/grants.js';

const RENEW_AFTER_MS = 60 * 60 * 1000;
const LEASE_MS = RENEW_AFTER_MS / 2;
const FIVE_MINUTES = 5 * 60 * 1000;

/** Leases as Redis keeps them (set if absent, with an expiry), on the test's clock. */
class LeaseTable implements Coordination {
  readonly claims: [string, number][] = [];
  private readonly until = new Map<string, number>();

  constructor(private readonly clock: ManualClock) {}

  async claim(name: string, ttlMs: number): Promise<boolean> {
    this.claims.push([name, ttlMs]);
    if ((this.until.get(name) ?? -Infinity) > this.clock.t) return false;
    this.until.set(name, this.clock.t + ttlMs);
    return true;
  }

  lock(): Promise<() => void> {
    throw new Error('renewal takes no lock');
  }
}

/** What the fake Proxmox does when asked to renew a ticket. */
type Renew = (held: TicketCredentials) => Promise<TicketCredentials>;

function harness(renew?: Renew) {
  const clock = new ManualClock(10 * RENEW_AFTER_MS);
  const store = new MemorySessionStore({ maxSessions: 10, maxViewersPerSession: 2, reconnectGraceMs: 60_000, idleTimeoutMs: 0 }, clock.now);
  const leases = new LeaseTable(clock);
  const renewed: string[] = [];
  const fresh: Renew = async (held) => ({ ...held, ticket: `${held.ticket}+renewed`, issuedAt: clock.t });
  const client = {
    renew: (held: TicketCredentials) => {
      renewed.push(held.ticket);
      return (renew ?? fresh)(held);
    },
  };
  const clients = { for: () => client, timeoutMs: 1_000 } as unknown as ProxmoxClients;
  /** A replica's ConsoleService: all share the store, the leases and the clock. */
  const replica = () => new ConsoleService(clients, store, leases, { maxSessionSeconds: 3_600 }, silentLogger, RENEW_AFTER_MS, clock.now);
  const session = async (credentials: GrantCredentials) => (await store.create(consoleGrant({ credentials, maxDurationMs: 100 * RENEW_AFTER_MS }), 'p')).record;
  const ticketIssuedAt = (issuedAt: number, ticket = 'PVE:t') => session({ kind: 'ticket', username: 'u@pve', ticket, csrf: 'C', issuedAt });
  const current = async (s: SessionRecord) => (await store.get(s.id)) ?? assert.fail('session gone');
  return { clock, store, leases, renewed, replica, session, ticketIssuedAt, current };
}

describe('ConsoleService.renewStaleTickets', () => {
  it('renews a ticket one millisecond past the renewal age, not at it, and writes the new one to the store', async () => {
    const h = harness();
    const service = h.replica();
    const s = await h.ticketIssuedAt(h.clock.t);
    h.clock.advance(RENEW_AFTER_MS);
    await service.renewStaleTickets([s]);
    assert.deepEqual(h.renewed, [], 'exactly the renewal age is not due yet');
    assert.deepEqual(h.leases.claims, [], 'a ticket not due claims nothing');
    h.clock.advance(1);
    await service.renewStaleTickets([s]);
    assert.deepEqual(h.renewed, ['PVE:t']);
    const now = await h.current(s);
    assert.deepEqual(now.grant.credentials, { kind: 'ticket', username: 'u@pve', ticket: 'PVE:t+renewed', csrf: 'C', issuedAt: h.clock.t });
    assert.equal(now.grantVersion, s.grantVersion + 1);
  });

  it('renews once per claim: of replicas sweeping together, one does it, under a lease of half the renewal age', async () => {
    const h = harness();
    const s = await h.ticketIssuedAt(h.clock.t - RENEW_AFTER_MS - 1);
    await Promise.all([h.replica().renewStaleTickets([s]), h.replica().renewStaleTickets([s])]);
    assert.deepEqual(h.renewed, ['PVE:t']);
    assert.deepEqual(h.leases.claims, [[`renew|${s.id}`, LEASE_MS], [`renew|${s.id}`, LEASE_MS]]);
  });

  it('keeps the ticket Proxmox would not renew, and tries again once the lease ran out', async () => {
    const h = harness(async () => {
      throw new ProxmoxError('proxmox_unreachable', 'down');
    });
    const service = h.replica();
    const s = await h.ticketIssuedAt(h.clock.t - RENEW_AFTER_MS - 1);
    await service.renewStaleTickets([s]);
    assert.deepEqual((await h.current(s)).grant, s.grant, 'the held ticket still works until it expires');
    assert.equal((await h.current(s)).grantVersion, s.grantVersion);
    h.clock.advance(LEASE_MS - 1);
    await service.renewStaleTickets([await h.current(s)]);
    assert.equal(h.renewed.length, 1, 'the lease still holds');
    h.clock.advance(1);
    await service.renewStaleTickets([await h.current(s)]);
    assert.equal(h.renewed.length, 2);
  });

  it('lets a failure that is not Proxmox answering through', async () => {
    const h = harness(async () => {
      throw new TypeError('a bug');
    });
    const s = await h.ticketIssuedAt(h.clock.t - RENEW_AFTER_MS - 1);
    await assert.rejects(h.replica().renewStaleTickets([s]), TypeError);
  });

  it('renews nothing but tickets: a password waits for its first use, an API token does not expire', async () => {
    const h = harness();
    const password = await h.session({ kind: 'password', username: 'u@pve', password: 'pw' });
    const token = await h.session({ kind: 'apiToken', tokenId: 'u@pve!t', secret: 's' });
    h.clock.advance(10 * RENEW_AFTER_MS);
    await h.replica().renewStaleTickets([password, token]);
    assert.deepEqual([h.renewed, h.leases.claims], [[], []]);
  });

  it('renews due tickets one after the other, so Proxmox sees no burst', async () => {
    let running = 0;
    let most = 0;
    const h = harness(async (held) => {
      most = Math.max(most, ++running);
      await settle();
      running--;
      return { ...held, issuedAt: h.clock.t };
    });
    const due = h.clock.t - RENEW_AFTER_MS - 1;
    const sessions = [await h.ticketIssuedAt(due, 'PVE:a'), await h.ticketIssuedAt(due, 'PVE:b'), await h.ticketIssuedAt(h.clock.t, 'PVE:fresh'), await h.ticketIssuedAt(due, 'PVE:c')];
    await h.replica().renewStaleTickets(sessions);
    assert.deepEqual(h.renewed, ['PVE:a', 'PVE:b', 'PVE:c']);
    assert.equal(most, 1);
  });
});

describe('scheduleTicketRenewal', () => {
  useMockTimers(['setInterval']);

  it("hands the store's live sessions to the service every five minutes, until stopped", async () => {
    const h = harness();
    const s = await h.ticketIssuedAt(h.clock.t);
    const sweeps: string[][] = [];
    const service = { renewStaleTickets: async (live: SessionRecord[]) => void sweeps.push(live.map((r) => r.id)) } as unknown as ConsoleService;
    const stop = scheduleTicketRenewal(h.store, service, silentLogger);
    mock.timers.tick(FIVE_MINUTES - 1);
    await settle();
    assert.deepEqual(sweeps, []);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(sweeps, [[s.id]]);
    mock.timers.tick(FIVE_MINUTES);
    await settle();
    assert.equal(sweeps.length, 2);
    stop();
    mock.timers.tick(FIVE_MINUTES * 3);
    await settle();
    assert.equal(sweeps.length, 2);
  });
});
