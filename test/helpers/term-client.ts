// A test-side termproxy (xterm.js console) client: the websocket that vncwebsocket upgrades to,
// the login line, and termproxy's messages. Written apart from sim/ and src/ on purpose, so a
// protocol bug on either side cannot hide behind shared code.
import WebSocket, { type RawData } from 'ws';
import { WakeList } from './wake-list.js';

export interface TermEndpoint {
  host: string;
  port: number;
  /** The CA to trust for the endpoint's certificate. */
  caPem: string;
}

/** `0:<length in UTF-8 bytes>:<data>` */
export function inputMessage(text: string): string {
  return `0:${Buffer.byteLength(text, 'utf8')}:${text}`;
}

/** `1:<cols>:<rows>:` */
export function resizeMessage(cols: number, rows: number): string {
  return `1:${cols}:${rows}:`;
}

export const PING_MESSAGE = '2';

export function termWebsocketPath(node: string, type: 'qemu' | 'lxc', vmid: number, port: number | string, ticket: string): string {
  return `/api2/json/nodes/${node}/${type}/${vmid}/vncwebsocket?port=${port}&vncticket=${encodeURIComponent(ticket)}`;
}

/** One terminal websocket: everything received is kept, as frames and as text. */
export class TermClient {
  /** Binary payloads received, one per frame. */
  readonly frames: Buffer[] = [];
  closed = false;
  /** The close's code and reason, once closed. */
  closeCode: number | undefined;
  closeReason: string | undefined;
  private readonly wakes = new WakeList();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      this.frames.push(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
      this.wake();
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = String(reason);
      this.wake();
    });
  }

  /** Opens the websocket with the `binary` subprotocol, as the Proxmox web UI does; rejects when the upgrade fails. */
  static open(endpoint: TermEndpoint, path: string, headers: Record<string, string>, handshakeTimeout = 5000): Promise<TermClient> {
    const ws = new WebSocket(`wss://${endpoint.host}:${endpoint.port}${path}`, ['binary'], { ca: endpoint.caPem, headers, handshakeTimeout, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TermClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Opens a websocket at a full URL (the gateway's console websocket: cookie and Origin in `headers`). */
  static connect(url: string, headers: Record<string, string>): Promise<TermClient> {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const client = new TermClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Everything received so far, decoded as UTF-8. */
  get output(): string {
    return Buffer.concat(this.frames).toString('utf8');
  }

  private wake(): void {
    this.wakes.wake();
  }

  send(data: string | Buffer): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { binary: true });
  }

  login(user: string, ticket: string): void {
    this.send(`${user}:${ticket}\n`);
  }

  input(text: string): void {
    this.send(inputMessage(text));
  }

  resize(cols: number, rows: number): void {
    this.send(resizeMessage(cols, rows));
  }

  /** Resolves true once `test` holds on the output, false when the socket closed or the time ran out first. */
  waitFor(test: string | RegExp | ((output: string) => boolean), timeoutMs = 5000): Promise<boolean> {
    const holds = () => (typeof test === 'string' ? this.output.includes(test) : test instanceof RegExp ? test.test(this.output) : test(this.output));
    return this.wakes.until(holds, () => this.closed, timeoutMs);
  }

  /** Resolves true once the server closed the connection, false if it is still open after the timeout. */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    return this.waitFor(() => this.closed, timeoutMs).then(() => this.closed);
  }

  close(): void {
    this.ws.terminate();
  }
}
