import type { Logger } from '../log.js';
import type { ProxmoxClient, ProxmoxCredentials } from '../proxmox/client.js';
import type { ProxmoxClients } from '../proxmox/clients.js';
import { isProxmoxError } from '../proxmox/errors.js';
import { resolveGuest } from '../proxmox/guest.js';
import type { ConsoleGrant } from '../sessions/grant.js';
import type { SessionRecord } from '../sessions/record.js';
import type { GuestCondition } from './outcomes.js';

/** A page asks every few seconds while its guest is stopped; several tabs share one answer. */
const CONDITION_FRESH_MS = 2000;
const MAX_REMEMBERED = 10_000;

/**
 * The guest behind a session, seen with the session's own credentials: how it stands (for the
 * page's state route). Nothing here is told to the browser beyond a GuestCondition.
 */
export class GuestPower {
  private readonly conditions = new Map<string, { at: number; condition: Promise<GuestCondition> }>();

  constructor(
    private readonly clients: ProxmoxClients,
    private readonly log: Logger,
  ) {}

  /** How the session's guest stands now; at most one Proxmox lookup per session every two seconds. */
  condition(session: SessionRecord): Promise<GuestCondition> {
    const now = Date.now();
    const known = this.conditions.get(session.id);
    if (known && now - known.at < CONDITION_FRESH_MS) return known.condition;
    if (this.conditions.size >= MAX_REMEMBERED) {
      for (const [id, entry] of this.conditions) if (now - entry.at >= CONDITION_FRESH_MS) this.conditions.delete(id);
    }
    const condition = this.lookUp(session);
    this.conditions.set(session.id, { at: now, condition });
    return condition;
  }

  private async lookUp(session: SessionRecord): Promise<GuestCondition> {
    const { grant } = session;
    const client = this.clients.for(grant.target);
    try {
      const creds = await credentialsOf(client, grant);
      const guest = await resolveGuest(client, creds, { node: grant.node, vmid: grant.vmid, type: grant.type });
      if (guest.status === 'running') return 'running';
      return guest.status === 'stopped' ? 'stopped' : 'unknown';
    } catch (error) {
      if (isProxmoxError(error, 'guest_not_found')) return 'missing';
      if (isProxmoxError(error, 'permission_denied') || isProxmoxError(error, 'proxmox_auth_failed')) return 'denied';
      this.log.child('PROXMOX', { session: session.id }).debug('guest state unknown', { error: error instanceof Error ? error.message : String(error) });
      return 'unknown';
    }
  }
}

/**
 * The session's credentials for one call. A password (validation was off and no console opened
 * yet) is exchanged for a ticket each time: the console service keeps the ticket once it opens one.
 */
async function credentialsOf(client: ProxmoxClient, grant: ConsoleGrant): Promise<ProxmoxCredentials> {
  const held = grant.credentials;
  return held.kind === 'password' ? client.login(held.username, held.password) : held;
}
