import type WebSocket from 'ws';
import type { Logger } from '../log.js';
import type { ProxmoxClients } from '../proxmox/clients.js';
import type { GuestType, ProxmoxClient, ProxmoxCredentials, TicketCredentials } from '../proxmox/client.js';
import { OpeningCancelledError, ProxmoxError, isProxmoxError } from '../proxmox/errors.js';
import { checkConsoleAccess, resolveGuest, type ResolvedGuest } from '../proxmox/guest.js';
import { chooseSerial } from '../proxmox/serial.js';
import { logInToTerminal, TermLoginRefusedError, TermLoginTimeoutError, type LoggedInTerminal } from '../proxmox/term-login.js';
import { closeUpstream } from '../proxmox/upstream-socket.js';
import type { ConsoleGrant, GrantRequest, ProxmoxTarget } from './grant.js';
import type { Coordination } from './coordination.js';
import type { SessionRecord } from './record.js';
import { SingleFlight } from './single-flight.js';
import type { SessionStore } from './store.js';

/**
 * Tickets live two hours and only a live one can be renewed: one older than this is renewed, by
 * the periodic sweep (renewStaleTickets) or at its next use, whichever comes first.
 */
const TICKET_RENEW_AFTER_MS = 60 * 60 * 1000;

interface TerminalTarget {
  node: string;
  type: GuestType;
  vmid: number;
  serial?: string;
}

export interface UpstreamConsole {
  ws: WebSocket;
  vncPassword: string;
  /** The desktop name to show: the backend's title, else the guest's name as just learnt. */
  title: string;
  /** To be called once VNC authentication succeeded or failed: the guest's next viewer may go. */
  authenticated(): void;
}

/**
 * Turns the backend's request into a grant (checking it against Proxmox unless told not to) and,
 * per browser connection, a grant into an authenticated-to-be console websocket on Proxmox.
 */
export class ConsoleService {
  /** A session's viewers opening at once log in (or renew its ticket) once, not once each. */
  private readonly logins = new SingleFlight<ProxmoxCredentials>();

  constructor(
    private readonly clients: ProxmoxClients,
    private readonly sessions: Pick<SessionStore, 'updateGrant'>,
    private readonly coordination: Coordination,
    private readonly limits: { maxSessionSeconds: number },
    private readonly log: Logger,
    private readonly ticketRenewAfterMs = TICKET_RENEW_AFTER_MS,
    /** The clock tickets' ages are judged by; tests drive it. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Renews the tickets of these sessions that are due, one after the other so Proxmox sees no
   * burst. A session with a viewer needs no ticket until its next reconnect, which may come after
   * the ticket's two hours: without this its console could no longer be opened.
   */
  async renewStaleTickets(sessions: Iterable<SessionRecord>): Promise<void> {
    for (const session of sessions) {
      const stale = this.staleTicket(session.grant);
      // Once per session in the cluster: the replica that claims it renews, the others skip it.
      if (stale && (await this.coordination.claim(`renew|${session.id}`, this.ticketRenewAfterMs / 2))) {
        await this.renewTicket(this.clients.for(session.grant.target), session, stale);
      }
    }
  }

  async grant(params: GrantRequest): Promise<ConsoleGrant> {
    const target: ProxmoxTarget = { hostname: params.hostname, port: params.port, fingerprint: params.fingerprint };
    const base = {
      target,
      vmid: params.vmid,
      console: params.console,
      serial: params.serial,
      viewOnly: params.viewOnly,
      maxDurationMs: (params.maxDurationSeconds ?? this.limits.maxSessionSeconds) * 1000,
    };
    if (!params.validate) {
      // As the original program: credentials wait in memory until the link is opened.
      return { ...base, node: params.node, type: params.type, credentials: params.credentials, title: params.title };
    }
    const client = this.clients.for(target);
    const checked = await checkConsoleAccess(client, params.credentials, {
      node: params.node,
      vmid: params.vmid,
      type: params.type,
    });
    // A VM's text console needs a serial port: the backend learns now that there is none.
    const serial = params.console === 'xterm' && checked.type === 'qemu' ? await this.serialPort(client, checked.credentials, checked.node, params.vmid, params.serial) : params.serial;
    if (params.console === 'xterm' && checked.credentials.kind === 'apiToken') {
      // Older releases refuse an API token only at the terminal's login, long after termproxy
      // said yes: only a real login tells, and the backend should learn it now.
      const trial = await this.openTerminal(client, checked.credentials, { node: checked.node, type: checked.type, vmid: params.vmid, serial });
      closeUpstream(trial.ws);
    }
    return {
      ...base,
      serial,
      node: checked.node,
      type: checked.type,
      credentials: checked.credentials,
      title: params.title ?? checked.name,
    };
  }

  /**
   * A fresh vncproxy and its websocket, for one browser connection of `session`; `signal` aborts
   * when the browser leaves, and what is still to be done for it is not.
   */
  async openVncUpstream(session: SessionRecord, signal?: AbortSignal): Promise<UpstreamConsole> {
    const { client, creds, guest, grant } = await this.runningGuest(session, signal);
    // Each vncproxy replaces the guest's VNC password, failing a connection that has not
    // authenticated yet: a guest's consoles are opened one at a time, up to authentication.
    const { hostname, port } = grant.target;
    const release = await this.coordination.lock(`vncproxy|${hostname}|${port}|${grant.vmid}`, 3 * this.clients.timeoutMs);
    try {
      if (signal?.aborted) throw new OpeningCancelledError();
      const ticket = await client.vncproxy(creds, guest.node, guest.type, grant.vmid);
      const ws = await client.openVncWebsocket(creds, guest.node, guest.type, grant.vmid, ticket.port, ticket.ticket, {
        handshakeTimeoutMs: this.clients.timeoutMs,
      });
      return { ws, vncPassword: ticket.vncPassword, title: grant.title ?? `VM ${grant.vmid}`, authenticated: release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * A fresh termproxy terminal (a VM's serial port or a container's console), logged in, for the
   * session's viewers in this process (SharedTerminals). termproxy's user and ticket never leave
   * this method. A VM's port, when not chosen at /create (validation off), is chosen now.
   */
  async openTermUpstream(session: SessionRecord, signal?: AbortSignal): Promise<LoggedInTerminal> {
    const { client, creds, guest, grant } = await this.runningGuest(session, signal);
    const serial = guest.type === 'qemu' && grant.serial === undefined ? await this.serialPort(client, creds, guest.node, grant.vmid, undefined) : grant.serial;
    return this.openTerminal(client, creds, { node: guest.node, type: guest.type, vmid: grant.vmid, serial });
  }

  /** The VM's serial port for its text console (needs VM.Audit, as status/current does). */
  private async serialPort(client: ProxmoxClient, creds: ProxmoxCredentials, node: string, vmid: number, requested: string | undefined): Promise<string> {
    return chooseSerial(await client.vmConfig(creds, node, vmid), vmid, requested);
  }

  private async openTerminal(client: ProxmoxClient, creds: ProxmoxCredentials, target: TerminalTarget): Promise<LoggedInTerminal> {
    const { node, type, vmid } = target;
    const serial = type === 'qemu' ? target.serial : undefined;
    const ticket = await client.termproxy(creds, node, type, vmid, serial);
    const ws = await client.openVncWebsocket(creds, node, type, vmid, ticket.port, ticket.ticket, {
      handshakeTimeoutMs: this.clients.timeoutMs,
    });
    try {
      return await logInToTerminal(ws, ticket.user, ticket.ticket, this.clients.timeoutMs);
    } catch (error) {
      closeUpstream(ws);
      throw terminalLoginError(error, creds, vmid);
    }
  }

  /**
   * Where the session's guest is now, checked to be running, and the credentials to reach it.
   * What was learnt (a ticket for a password, the node after a migration, the guest's name) is
   * written back to the store, so every replica serving the session knows it too.
   */
  private async runningGuest(
    session: SessionRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ client: ProxmoxClient; creds: ProxmoxCredentials; guest: ResolvedGuest; grant: ConsoleGrant }> {
    const shared = this.clients.for(session.grant.target);
    // A login shared with the session's other viewers is not theirs to cancel.
    const creds = await this.credentials(shared, session);
    const client = signal ? shared.withSignal(signal) : shared;
    const guest = await resolveGuest(client, creds, { node: session.grant.node, vmid: session.grant.vmid, type: session.grant.type });
    if (guest.node !== session.grant.node && session.grant.node !== undefined) {
      this.log.child('PROXMOX', { session: session.id }).info('guest found on another node', { vmid: session.grant.vmid });
    }
    const grant: ConsoleGrant = { ...session.grant, credentials: creds, node: guest.node, type: guest.type, title: session.grant.title ?? guest.name };
    if (grant.credentials !== session.grant.credentials || grant.node !== session.grant.node || grant.type !== session.grant.type || grant.title !== session.grant.title) {
      // Lost to a change by another viewer or replica: theirs is as good, this connection uses ours.
      await this.sessions.updateGrant(session.id, session.grantVersion, grant);
    }
    if (guest.status !== 'running') {
      throw new ProxmoxError('guest_not_running', `Guest ${grant.vmid} is not running (status: ${guest.status}).`);
    }
    return { client, creds, guest, grant };
  }

  /**
   * Credentials for the next Proxmox call. A password (validation was off) is exchanged for a
   * ticket on first use and then forgotten; a ticket nearing its two-hour end is renewed.
   */
  private async credentials(client: ProxmoxClient, session: SessionRecord): Promise<ProxmoxCredentials> {
    const held = session.grant.credentials;
    if (held.kind === 'password') return this.logins.run(session.id, () => client.login(held.username, held.password));
    const stale = this.staleTicket(session.grant);
    return stale ? this.logins.run(session.id, () => this.renewedTicket(client, session, stale)) : held;
  }

  /** The grant's ticket when it is due for renewal. */
  private staleTicket(grant: ConsoleGrant): TicketCredentials | null {
    const held = grant.credentials;
    return held.kind === 'ticket' && this.now() - held.issuedAt > this.ticketRenewAfterMs ? held : null;
  }

  private async renewTicket(client: ProxmoxClient, session: SessionRecord, held: TicketCredentials): Promise<void> {
    const renewed = await this.renewedTicket(client, session, held);
    if (renewed !== held) await this.sessions.updateGrant(session.id, session.grantVersion, { ...session.grant, credentials: renewed });
  }

  /** A fresh ticket, or the held one when Proxmox would not renew it (it still works until it expires). */
  private async renewedTicket(client: ProxmoxClient, session: SessionRecord, held: TicketCredentials): Promise<TicketCredentials> {
    try {
      return await client.renew(held);
    } catch (error) {
      if (!isProxmoxError(error)) throw error;
      this.log.child('PROXMOX', { session: session.id }).warn('ticket renewal failed; using the current ticket', { code: error.code });
      return held;
    }
  }
}

/**
 * termproxy's login failures in the control API's terms. A refused API token is the known
 * limitation of PVE 7 and older 8/9 releases (pve-protocol.md section 1).
 */
function terminalLoginError(error: unknown, creds: ProxmoxCredentials, vmid: number): unknown {
  if (error instanceof TermLoginTimeoutError) {
    return new ProxmoxError('proxmox_timeout', `The terminal of guest ${vmid} did not answer the login.`, { cause: error });
  }
  if (!(error instanceof TermLoginRefusedError)) return error;
  if (creds.kind === 'apiToken') {
    return new ProxmoxError(
      'xterm_requires_password',
      `Proxmox refused the terminal login of API token ${creds.tokenId}: this Proxmox VE release opens xterm consoles only for password logins. Use username and password instead of api_token.`,
      { cause: error },
    );
  }
  return new ProxmoxError('proxmox_auth_failed', `Proxmox refused the terminal login for guest ${vmid}.`, { cause: error });
}
