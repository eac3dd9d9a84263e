import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { PowerAction, ProxmoxClient, ProxmoxCredentials } from '../proxmox/client.js';
import type { ProxmoxClients } from '../proxmox/clients.js';
import { isProxmoxError, ProxmoxError } from '../proxmox/errors.js';
import { resolveGuest } from '../proxmox/guest.js';
import type { ConsoleEvents } from '../sessions/events.js';
import type { ConsoleGrant } from '../sessions/grant.js';
import type { SessionRecord } from '../sessions/record.js';
import type { GuestCondition } from './outcomes.js';

/** A page asks every few seconds while its guest is stopped; several tabs share one answer. */
const CONDITION_FRESH_MS = 2000;
const MAX_REMEMBERED = 10_000;

const POWER_PRIVILEGE = 'VM.PowerMgmt';

/**
 * The guest behind a session, seen with the session's own credentials: how it stands (for the
 * page's state route), and the power actions its link allows. Nothing here is told to the
 * browser beyond a GuestCondition and whether an action was taken.
 */
export class GuestPower {
  private readonly conditions = new Map<string, { at: number; condition: Promise<GuestCondition> }>();

  constructor(
    private readonly clients: ProxmoxClients,
    private readonly log: Logger,
    private readonly metrics?: GatewayMetrics,
    private readonly events?: ConsoleEvents,
  ) {}

  /** Whether the grant's identity holds VM.PowerMgmt on its guest (asked at /create when `power` is). */
  async mayPower(grant: ConsoleGrant): Promise<boolean> {
    const client = this.clients.for(grant.target);
    const privileges = await client.permissions(await credentialsOf(client, grant), `/vms/${grant.vmid}`);
    return POWER_PRIVILEGE in privileges;
  }

  /**
   * Runs a power action the session's link allows, with the session's credentials; logged and
   * counted whatever comes of it. Throws a ProxmoxError for Proxmox's refusals.
   */
  async act(session: SessionRecord, action: PowerAction): Promise<string> {
    const log = this.log.child('PROXMOX', { session: session.id });
    const { grant } = session;
    try {
      if (!grant.power?.includes(action)) throw new ProxmoxError('permission_denied', `The link does not allow ${action}.`);
      const client = this.clients.for(grant.target);
      const creds = await credentialsOf(client, grant);
      const guest = await resolveGuest(client, creds, { node: grant.node, vmid: grant.vmid, type: grant.type });
      // Forgotten before as well as after: the action ends the guest's consoles before Proxmox
      // answers, and the pages then ask how the guest stands; a state from before would be wrong.
      this.conditions.delete(session.id);
      const task = await client.powerAction(creds, guest.node, guest.type, grant.vmid, action);
      this.conditions.delete(session.id);
      this.metrics?.powerActions.labels(action, 'ok').inc();
      this.events?.powerAction(session, action, 'ok');
      log.info('power action', { action, vmid: grant.vmid, task });
      return task;
    } catch (error) {
      const code = isProxmoxError(error) ? error.code : 'error';
      this.metrics?.powerActions.labels(action, code).inc();
      this.events?.powerAction(session, action, code);
      log.warn('power action failed', { action, vmid: grant.vmid, code, error });
      throw error;
    }
  }

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
