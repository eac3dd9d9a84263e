import { Agent, request } from 'undici';
import type WebSocket from 'ws';
import { OpeningCancelledError, ProxmoxError, proxmoxHttpError } from './errors.js';
import type { HostPolicy } from './host-policy.js';
import { networkErrorToProxmox, resolveTlsPolicy, undiciConnector, type TlsPolicy, type TlsTarget } from './tls.js';
import { dialVncWebsocket } from './vnc-websocket.js';

export interface ProxmoxEndpoint {
  hostname: string;
  port: number;
  /** SHA-256 pin of the node certificate, as Proxmox shows it. */
  fingerprint?: string;
}

export interface ProxmoxClientOptions {
  /** Limit for each API call, from connecting to the last body byte. */
  timeoutMs: number;
  /** Content of `proxmox_ca_file`. */
  caPem?: string;
  /** `proxmox_tls_insecure`. */
  insecure?: boolean;
  /** `proxmox_hosts_allowed`, checked at every connection against the address dialled. */
  hosts?: HostPolicy;
  /** Told how long each call took: its route with node and guest left out, `ok` or its error code. */
  observe?(route: string, outcome: string, seconds: number): void;
}

/** A path's route, with the node and guest left out, so a metric's labels stay few. */
export function routeOf(path: string): string {
  return path.replace(/^\/nodes\/[^/]+/, '/nodes/{node}').replace(/\/(qemu|lxc)\/\d+/, '/$1/{vmid}');
}

export type ProxmoxCredentials =
  | { kind: 'ticket'; username: string; ticket: string; csrf: string; issuedAt: number /* ms */ }
  | { kind: 'apiToken'; tokenId: string /* user@realm!id */; secret: string };

export type TicketCredentials = Extract<ProxmoxCredentials, { kind: 'ticket' }>;

export type GuestType = 'qemu' | 'lxc';

export interface ClusterGuest {
  vmid: number;
  type: GuestType;
  node: string;
  /** "running", "stopped" or "unknown" (no statistics yet). */
  status: string;
  name?: string;
}

export interface GuestStatus {
  status: string;
  name?: string;
}

/** The power routes of `status/<action>` (containers have no reset). */
export type PowerAction = 'start' | 'shutdown' | 'reboot' | 'stop' | 'reset' | 'suspend' | 'resume';

export interface VncProxyTicket {
  port: number;
  ticket: string;
  /** The password the RFB server expects (see pve-protocol.md, "Which VNC password"). */
  vncPassword: string;
  user: string;
}

export interface TermProxyTicket {
  port: number;
  ticket: string;
  user: string;
}

/** Privilege name to propagate flag, e.g. `{ "VM.Console": 1 }`. */
export type Privileges = Record<string, number>;

const API_PREFIX = '/api2/json';
// /cluster/resources of a large cluster is the biggest answer; anything beyond this is not Proxmox.
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const VNC_PASSWORD_LENGTH = 8;

type Params = Record<string, string | number>;

function credentialSecrets(creds: ProxmoxCredentials | null): string[] {
  if (!creds) return [];
  return creds.kind === 'ticket' ? [creds.ticket, creds.csrf] : [creds.secret];
}

function authHeaders(creds: ProxmoxCredentials | null, method: string): Record<string, string> {
  if (!creds) return {};
  if (creds.kind === 'apiToken') return { authorization: `PVEAPIToken=${creds.tokenId}=${creds.secret}` };
  const headers: Record<string, string> = { cookie: `PVEAuthCookie=${encodeURIComponent(creds.ticket)}` };
  if (method !== 'GET') headers.csrfpreventiontoken = creds.csrf;
  return headers;
}

function guestPath(node: string, type: GuestType, vmid: number, action: string): string {
  if (!Number.isSafeInteger(vmid) || vmid < 1) throw new ProxmoxError('proxmox_error', `invalid vmid ${String(vmid)}`);
  return `/nodes/${encodeURIComponent(node)}/${type}/${vmid}/${action}`;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The password rule of pve-protocol.md: `password` when present, else the ticket's first 8 characters. */
export function vncPasswordOf(answer: { password?: string; ticket: string }): string {
  return answer.password ? answer.password : answer.ticket.slice(0, VNC_PASSWORD_LENGTH);
}

function errorText(statusText: string, body: string): string {
  try {
    const message = asRecord(JSON.parse(body)).message;
    if (typeof message === 'string' && message.trim()) return message;
  } catch {
    // older releases send no JSON body on errors; the reason phrase is all there is
  }
  return statusText;
}

/** A client for one Proxmox host (one endpoint and TLS policy); cheap to create, close after use. */
export class ProxmoxClient {
  readonly target: TlsTarget;
  private readonly policy: TlsPolicy;
  private readonly hosts: HostPolicy | undefined;
  private readonly observe: ProxmoxClientOptions['observe'];
  /** Set on a view made by withSignal(): its calls and dials end when it aborts. */
  private signal: AbortSignal | undefined;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly origin: string;

  constructor(endpoint: ProxmoxEndpoint, options: ProxmoxClientOptions) {
    this.target = { host: endpoint.hostname, port: endpoint.port };
    this.policy = resolveTlsPolicy({ fingerprint: endpoint.fingerprint, caPem: options.caPem, insecure: options.insecure });
    this.timeoutMs = options.timeoutMs;
    const host = endpoint.hostname.includes(':') && !endpoint.hostname.startsWith('[') ? `[${endpoint.hostname}]` : endpoint.hostname;
    this.origin = `https://${host}:${endpoint.port}`;
    this.hosts = options.hosts;
    this.observe = options.observe;
    this.agent = new Agent({ connect: undiciConnector(this.policy, options.timeoutMs, options.hosts), keepAliveTimeout: 4_000 });
  }

  /**
   * This client, with its calls and console dials abandoned once `signal` aborts: a browser that
   * leaves while its console is being opened costs no further Proxmox round trip. It shares the
   * connection pool; close() the original, not the view.
   */
  withSignal(signal: AbortSignal): ProxmoxClient {
    const view = Object.create(this) as ProxmoxClient;
    view.signal = signal;
    return view;
  }

  /** Lets calls in flight finish (each is bounded by timeoutMs), then closes the pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  async login(username: string, password: string): Promise<TicketCredentials> {
    return this.ticketFrom(await this.call(null, 'POST', '/access/ticket', { username, password }, [password]));
  }

  /** Posting a still valid ticket as the password yields a fresh one. */
  async renew(creds: TicketCredentials): Promise<TicketCredentials> {
    return this.ticketFrom(await this.call(null, 'POST', '/access/ticket', { username: creds.username, password: creds.ticket }, credentialSecrets(creds)));
  }

  /** The caller's effective privileges on exactly `path` (empty when it has none). */
  async permissions(creds: ProxmoxCredentials, path: string): Promise<Privileges> {
    const data = asRecord(await this.call(creds, 'GET', '/access/permissions', { path }));
    const privileges = asRecord(data[path]);
    return Object.fromEntries(Object.entries(privileges).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }

  /** Every guest of the cluster the caller may audit. */
  async resources(creds: ProxmoxCredentials): Promise<ClusterGuest[]> {
    const data = await this.call(creds, 'GET', '/cluster/resources', { type: 'vm' });
    if (!Array.isArray(data)) throw new ProxmoxError('proxmox_error', 'Proxmox answered /cluster/resources with an unexpected shape.');
    const guests: ClusterGuest[] = [];
    for (const item of data) {
      const entry = asRecord(item);
      const vmid = Number(entry.vmid);
      if ((entry.type !== 'qemu' && entry.type !== 'lxc') || !Number.isSafeInteger(vmid) || typeof entry.node !== 'string') continue;
      guests.push({
        vmid,
        type: entry.type,
        node: entry.node,
        status: optionalString(entry.status) ?? 'unknown',
        name: optionalString(entry.name),
      });
    }
    return guests;
  }

  async guestStatus(creds: ProxmoxCredentials, node: string, type: GuestType, vmid: number): Promise<GuestStatus> {
    const data = asRecord(await this.call(creds, 'GET', guestPath(node, type, vmid, 'status/current')));
    return { status: optionalString(data.status) ?? 'unknown', name: optionalString(data.name) };
  }

  /** A VM's configuration (`GET .../qemu/<vmid>/config`, needs VM.Audit): option name to value, as Proxmox writes it. */
  async vmConfig(creds: ProxmoxCredentials, node: string, vmid: number): Promise<Record<string, string>> {
    const data = asRecord(await this.call(creds, 'GET', guestPath(node, 'qemu', vmid, 'config')));
    return Object.fromEntries(Object.entries(data).flatMap(([key, value]) => (typeof value === 'string' || typeof value === 'number' ? [[key, String(value)]] : [])));
  }

  /** POST status/<action>: Proxmox starts a task and answers its UPID. Needs VM.PowerMgmt. */
  async powerAction(creds: ProxmoxCredentials, node: string, type: GuestType, vmid: number, action: PowerAction): Promise<string> {
    const data = await this.call(creds, 'POST', guestPath(node, type, vmid, `status/${action}`));
    if (typeof data !== 'string' || !data.startsWith('UPID:')) throw new ProxmoxError('proxmox_error', `Proxmox answered status/${action} without a task id.`);
    return data;
  }

  async vncproxy(creds: ProxmoxCredentials, node: string, type: GuestType, vmid: number): Promise<VncProxyTicket> {
    // generate-password exists for QEMU only (containers answer 400 to it); current releases
    // generate one anyway, older ones otherwise make the ticket itself the password.
    const params: Params = type === 'qemu' ? { websocket: 1, 'generate-password': 1 } : { websocket: 1 };
    const data = asRecord(await this.call(creds, 'POST', guestPath(node, type, vmid, 'vncproxy'), params));
    const ticket = this.consoleTicket(data, 'vncproxy');
    const password = optionalString(data.password);
    return { ...ticket, vncPassword: vncPasswordOf({ password, ticket: ticket.ticket }) };
  }

  async termproxy(creds: ProxmoxCredentials, node: string, type: GuestType, vmid: number, serial?: string): Promise<TermProxyTicket> {
    const params: Params = serial ? { serial } : {};
    return this.consoleTicket(asRecord(await this.call(creds, 'POST', guestPath(node, type, vmid, 'termproxy'), params)), 'termproxy');
  }

  /**
   * Opens the console websocket for a vncproxy/termproxy ticket; the same identity must call both.
   * The socket comes paused (see dialVncWebsocket): `resume()` it once listening.
   */
  openVncWebsocket(
    creds: ProxmoxCredentials,
    node: string,
    type: GuestType,
    vmid: number,
    port: number,
    ticket: string,
    options: { handshakeTimeoutMs: number },
  ): Promise<WebSocket> {
    const path = guestPath(node, type, vmid, 'vncwebsocket');
    return this.timed(path, () => dialVncWebsocket({
      policy: this.policy,
      ...(this.hosts ? { hosts: this.hosts } : {}),
      target: this.target,
      url: `${this.origin}${API_PREFIX}${path}`,
      port,
      vncTicket: ticket,
      headers: authHeaders(creds, 'GET'),
      secrets: [...credentialSecrets(creds), ticket],
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      ...(this.signal ? { signal: this.signal } : {}),
    }));
  }

  /** Runs a call and reports how long it took and how it ended. */
  private async timed<T>(path: string, work: () => Promise<T>): Promise<T> {
    if (!this.observe) return work();
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await work();
    } catch (error) {
      outcome = error instanceof ProxmoxError ? error.code : error instanceof OpeningCancelledError ? 'cancelled' : 'proxmox_error';
      throw error;
    } finally {
      this.observe(routeOf(path), outcome, (performance.now() - started) / 1000);
    }
  }

  private consoleTicket(data: Record<string, unknown>, call: string): TermProxyTicket {
    const port = Number(data.port);
    const ticket = optionalString(data.ticket);
    if (!Number.isInteger(port) || port < 1 || port > 65535 || !ticket) {
      throw new ProxmoxError('proxmox_error', `Proxmox answered ${call} without a usable port and ticket.`);
    }
    return { port, ticket, user: optionalString(data.user) ?? '' };
  }

  private ticketFrom(answer: unknown): TicketCredentials {
    const data = asRecord(answer);
    if (data.NeedTFA) {
      throw new ProxmoxError('proxmox_auth_failed', 'The Proxmox account requires two-factor authentication; two-factor accounts cannot be used for consoles.');
    }
    const ticket = optionalString(data.ticket);
    const csrf = optionalString(data.CSRFPreventionToken);
    const username = optionalString(data.username);
    if (!ticket || !csrf || !username) throw new ProxmoxError('proxmox_error', 'Proxmox answered the login without a ticket.');
    return { kind: 'ticket', username, ticket, csrf, issuedAt: Date.now() };
  }

  /** One API call: returns `data` of the answer, or throws a ProxmoxError. */
  private call(
    creds: ProxmoxCredentials | null,
    method: 'GET' | 'POST',
    path: string,
    params: Params = {},
    extraSecrets: string[] = [],
  ): Promise<unknown> {
    return this.timed(path, () => this.send(creds, method, path, params, extraSecrets));
  }

  private async send(
    creds: ProxmoxCredentials | null,
    method: 'GET' | 'POST',
    path: string,
    params: Params,
    extraSecrets: string[],
  ): Promise<unknown> {
    const secrets = [...credentialSecrets(creds), ...extraSecrets];
    const form = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const url = `${this.origin}${API_PREFIX}${path}${method === 'GET' && form ? `?${form}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(creds, method) };
    if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';

    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.timeoutMs);
    try {
      const res = await request(url, {
        method,
        headers,
        body: method === 'POST' ? form : undefined,
        dispatcher: this.agent,
        signal: this.signal ? AbortSignal.any([abort.signal, this.signal]) : abort.signal,
      });
      const body = await readBody(res.body);
      if (res.statusCode >= 400) throw proxmoxHttpError(res.statusCode, errorText(res.statusText, body), secrets);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw new ProxmoxError('proxmox_error', `Proxmox answered ${method} ${path} with status ${res.statusCode}.`);
      }
      try {
        return asRecord(JSON.parse(body)).data;
      } catch {
        throw new ProxmoxError('proxmox_error', `Proxmox answered ${method} ${path} with invalid JSON.`);
      }
    } catch (err) {
      if (this.signal?.aborted) throw new OpeningCancelledError({ cause: err });
      if (timedOut) throw new ProxmoxError('proxmox_timeout', `Proxmox did not answer ${method} ${path} within ${this.timeoutMs} ms.`, { cause: err });
      throw networkErrorToProxmox(err, this.target);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readBody(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new ProxmoxError('proxmox_error', 'Proxmox sent an answer larger than any it should.');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
