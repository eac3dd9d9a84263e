// Test-side HTTP and raw-socket access to the simulator's API. Written independently of sim/ (it
// must not reuse the simulator's code, or a shared bug would hide in every test).
import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import type { Simulator } from '../../sim/index.js';
import { WakeList } from '../helpers/wake-list.js';

export interface ApiResponse {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed body, or undefined when it is empty or not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CallOptions {
  headers?: Record<string, string>;
  form?: Record<string, string>;
  json?: unknown;
}

/** One request on a fresh connection (no agent), so connection handling is visible. */
export function apiCall(sim: Simulator, method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse> {
  let body: string | undefined;
  // Asks to keep the connection, so an answer that closes it shows in its own Connection header.
  const headers: Record<string, string> = { Connection: 'keep-alive', ...opts.headers };
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  }
  const options: RequestOptions = { host: sim.host, port: sim.port, method, path: `/api2/json${path}`, headers, ca: sim.caPem, agent: false };
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Session {
  username: string;
  ticket: string;
  csrf: string;
}

export async function login(sim: Simulator, username: string, password: string): Promise<Session> {
  const res = await apiCall(sim, 'POST', '/access/ticket', { form: { username, password } });
  if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${res.reason}`);
  return { username: res.json.data.username, ticket: res.json.data.ticket, csrf: res.json.data.CSRFPreventionToken };
}

/** Cookie and CSRF header of a session, the way the Proxmox web UI sends them. */
export function sessionHeaders(session: Session): Record<string, string> {
  return { Cookie: `PVEAuthCookie=${encodeURIComponent(session.ticket)}`, CSRFPreventionToken: session.csrf };
}

/** The ticket with the first character of its signature changed (always changed: a fixed letter would be a no-op one time in 64). */
export function forgeSignature(ticket: string): string {
  return ticket.replace(/::(.)/, (_match, first: string) => `::${first === 'A' ? 'B' : 'A'}`);
}

export const VNCUSER_TOKEN = 'PVEAPIToken=vncuser@pve!console=11111111-2222-3333-4444-555555555555';

export interface VncProxyAnswer {
  user: string;
  ticket: string;
  port: number | string;
  upid: string;
  cert: string;
  password?: string;
}

export async function vncproxy(sim: Simulator, headers: Record<string, string>, node: string, vmid: number, form: Record<string, string> = { websocket: '1' }): Promise<VncProxyAnswer> {
  const res = await apiCall(sim, 'POST', `/nodes/${node}/qemu/${vmid}/vncproxy`, { headers, form });
  if (res.status !== 200) throw new Error(`vncproxy failed: ${res.status} ${res.reason}`);
  return res.json.data;
}

export function vncwebsocketPath(node: string, type: string, vmid: number, port: number | string, ticket: string): string {
  return `/api2/json/nodes/${node}/${type}/${vmid}/vncwebsocket?port=${port}&vncticket=${encodeURIComponent(ticket)}`;
}

export type RawAnswer =
  | { kind: 'answer'; status: number; reason: string; headers: Record<string, string>; socket: TLSSocket; rest: Buffer }
  | { kind: 'closed' }
  | { kind: 'timeout' };

/** Standard websocket upgrade headers (version 13, a fixed key). */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...extra };
}

/**
 * Sends a raw HTTP/1.1 request over TLS and waits for the response head: the way to see an
 * upgrade that never gets an answer, and to speak websocket frames by hand afterwards.
 */
export function rawRequest(sim: Simulator, path: string, headers: Record<string, string>, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: sim.host, port: sim.port, ca: sim.caPem });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const settle = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      settle({ kind: 'timeout' });
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine ?? '');
      if (!match) return reject(new Error(`bad status line: ${statusLine}`));
      const head: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        head[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      settle({ kind: 'answer', status: Number(match[1]), reason: match[2] ?? '', headers: head, socket, rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', () => settle({ kind: 'closed' }));
    socket.on('close', () => settle({ kind: 'closed' }));
    socket.once('secureConnect', () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: ${sim.host}:${sim.port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}

/** Everything a socket sends until it closes (or the timeout passes: then `timedOut`). */
export function readUntilClose(socket: TLSSocket, initial: Buffer, timeoutMs: number): Promise<{ bytes: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    const chunks = [initial];
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), timedOut });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish(true);
    }, timeoutMs);
    if (socket.destroyed) return finish(false);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(false));
  });
}

/** A client frame built by hand, with every rule of RFC 6455 open to breaking. */
export function clientFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; rsv?: number; masked?: boolean } = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = opts;
  const b0 = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([b0, payload.length]);
  else if (payload.length < 65536) {
    header = Buffer.from([b0, 126, 0, 0]);
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  return Buffer.concat([header, mask, body]);
}

/** Splits server-to-client bytes into frames: [opcode, payload length, masked, fin]. */
export function parseServerFrames(bytes: Buffer): { opcode: number; length: number; masked: boolean; fin: boolean; payload: Buffer }[] {
  const frames = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    let length = b1 & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) offset += 4;
    frames.push({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, masked, length, payload: bytes.subarray(offset, offset + length) });
    at = offset + length;
  }
  return frames;
}

/** vncproxy for a guest, then its vncwebsocket upgrade over a raw TLS socket (extra headers merged in). */
export async function rawConsole(sim: Simulator, headers: Record<string, string>, node: string, vmid: number, extra: Record<string, string> = {}, timeoutMs = 3000): Promise<RawAnswer> {
  const proxy = await vncproxy(sim, headers, node, vmid);
  return rawRequest(sim, vncwebsocketPath(node, 'qemu', vmid, proxy.port, proxy.ticket), { ...upgradeHeaders(extra), ...headers }, timeoutMs);
}

/** Collects everything a socket sends, from the moment it is made. */
export class ByteCollector {
  bytes: Buffer;
  closed = false;
  private readonly wakes = new WakeList();

  constructor(socket: TLSSocket, initial: Buffer) {
    this.bytes = initial;
    socket.on('data', (c: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, c]);
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    this.wakes.wake();
  }

  /** Resolves once `test` holds (true) or the socket closed / the time is up (false). */
  until(test: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.wakes.until(test, () => this.closed, timeoutMs);
  }
}

/**
 * The client side of a console as the gateway will do it: vncproxy, then vncwebsocket with the
 * `ws` package, trusting only the simulator's CA (host name checked), offering `binary`.
 */
export async function openConsoleWebSocket(sim: Simulator, headers: Record<string, string>, node: string, vmid: number, form?: Record<string, string>): Promise<{ ws: WebSocket; proxy: VncProxyAnswer }> {
  const proxy = await vncproxy(sim, headers, node, vmid, form);
  const url = `wss://${sim.host}:${sim.port}${vncwebsocketPath(node, 'qemu', vmid, proxy.port, proxy.ticket)}`;
  const ws = new WebSocket(url, ['binary'], { ca: proxy.cert, headers, handshakeTimeout: 5000, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, proxy };
}
