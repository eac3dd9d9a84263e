import type WebSocket from 'ws';
import type { CreateParams } from '../control/create-params.js';
import type { Logger } from '../log.js';
import type { ProxmoxClients } from '../proxmox/clients.js';
import type { ProxmoxClient, ProxmoxCredentials } from '../proxmox/client.js';
import { ProxmoxError, isProxmoxError } from '../proxmox/errors.js';
import { checkConsoleAccess, resolveGuest } from '../proxmox/guest.js';
import type { ConsoleGrant, ProxmoxTarget } from './grant.js';
import type { Session } from './registry.js';

/** Tickets live two hours; one older than this is renewed before it is used for a console. */
const TICKET_RENEW_AFTER_MS = 60 * 60 * 1000;

export interface UpstreamConsole {
  ws: WebSocket;
  vncPassword: string;
}

/**
 * Turns the backend's request into a grant (checking it against Proxmox unless told not to) and,
 * per browser connection, a grant into an authenticated-to-be console websocket on Proxmox.
 */
export class ConsoleService {
  constructor(
    private readonly clients: ProxmoxClients,
    private readonly limits: { maxSessionSeconds: number },
    private readonly log: Logger,
  ) {}

  async grant(params: CreateParams): Promise<ConsoleGrant> {
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
    const checked = await checkConsoleAccess(this.clients.for(target), params.credentials, {
      node: params.node,
      vmid: params.vmid,
      type: params.type,
    });
    return {
      ...base,
      node: checked.node,
      type: checked.type,
      credentials: checked.credentials,
      title: params.title ?? checked.name,
    };
  }

  /** A fresh vncproxy and its websocket, for one browser connection of `session`. */
  async openVncUpstream(session: Session): Promise<UpstreamConsole> {
    const grant = session.grant;
    const client = this.clients.for(grant.target);
    const creds = await this.credentials(client, grant);
    const guest = await resolveGuest(client, creds, { node: grant.node, vmid: grant.vmid, type: grant.type });
    if (guest.node !== grant.node && grant.node !== undefined) {
      this.log.child('PROXMOX', { session: session.id }).info('guest found on another node', { vmid: grant.vmid });
    }
    grant.node = guest.node;
    grant.type = guest.type;
    grant.title ??= guest.name;
    if (guest.status !== 'running') {
      throw new ProxmoxError('guest_not_running', `Guest ${grant.vmid} is not running (status: ${guest.status}).`);
    }
    const ticket = await client.vncproxy(creds, guest.node, guest.type, grant.vmid);
    const ws = await client.openVncWebsocket(creds, guest.node, guest.type, grant.vmid, ticket.port, ticket.ticket, {
      handshakeTimeoutMs: this.clients.timeoutMs,
    });
    return { ws, vncPassword: ticket.vncPassword };
  }

  /**
   * Credentials for the next Proxmox call. A password (validation was off) is exchanged for a
   * ticket on first use and then forgotten; a ticket nearing its two-hour end is renewed.
   */
  private async credentials(client: ProxmoxClient, grant: ConsoleGrant): Promise<ProxmoxCredentials> {
    const held = grant.credentials;
    if (held.kind === 'password') {
      grant.credentials = await client.login(held.username, held.password);
    } else if (held.kind === 'ticket' && Date.now() - held.issuedAt > TICKET_RENEW_AFTER_MS) {
      try {
        grant.credentials = await client.renew(held);
      } catch (error) {
        if (!isProxmoxError(error)) throw error;
        this.log.warn('ticket renewal failed; using the current ticket', { code: error.code });
      }
    }
    return grant.credentials as ProxmoxCredentials;
  }
}
