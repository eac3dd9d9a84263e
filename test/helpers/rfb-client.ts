// A test-side RFB (VNC) client. It deliberately shares no code with src/ or sim/: tests that pit
// it against either side would otherwise let a shared protocol bug cancel out.
import { createCipheriv } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RawData, WebSocket } from 'ws';

/** The 16-byte answer to a VNC authentication challenge (RFB security type 2). */
export function vncDesResponse(challenge: Buffer, password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  // VNC feeds DES the key with each byte's bit order mirrored.
  for (let i = 0; i < 8; i++) {
    let reversed = 0;
    for (let bit = 0; bit < 8; bit++) {
      if (key[i]! & (1 << bit)) reversed |= 0x80 >> bit;
    }
    key[i] = reversed;
  }
  // OpenSSL 3 only offers single DES through the legacy provider; two-key triple DES with both
  // halves equal computes exactly single DES.
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

export interface ServerInit {
  width: number;
  height: number;
  /** The 16 bytes as sent. */
  pixelFormat: Buffer;
  name: string;
}

export interface HandshakeResult {
  /** The server's protocol version line, e.g. "RFB 003.008\n". */
  serverVersion: string;
  securityTypes: number[];
  securityResult: number;
  reason?: string;
  serverInit?: ServerInit;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  encoding: number;
  /** Raw pixels (encoding 0) in the current pixel format; empty for pseudo-encodings. */
  data: Buffer;
}

export type ServerMessage =
  | { type: 'update'; rects: Rect[] }
  | { type: 'cutText'; text: string }
  | { type: 'bell' }
  | { type: 'other'; code: number };

export const ENCODING_RAW = 0;
export const ENCODING_DESKTOP_SIZE = -223;
/** QEMU announces extended key events with an empty rectangle of this pseudo-encoding. */
export const ENCODING_QEMU_EXTENDED_KEY_EVENT = -258;

export function parsePixelFormat(b: Buffer): PixelFormat {
  return {
    bitsPerPixel: b[0]!,
    depth: b[1]!,
    bigEndian: b[2] !== 0,
    trueColour: b[3] !== 0,
    redMax: b.readUInt16BE(4),
    greenMax: b.readUInt16BE(6),
    blueMax: b.readUInt16BE(8),
    redShift: b[10]!,
    greenShift: b[11]!,
    blueShift: b[12]!,
  };
}

function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bitsPerPixel;
  b[1] = pf.depth;
  b[2] = pf.bigEndian ? 1 : 0;
  b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b[10] = pf.redShift;
  b[11] = pf.greenShift;
  b[12] = pf.blueShift;
  return b;
}

/** Decodes one raw pixel to 8-bit-per-channel RGB. */
export function pixelRgb(pf: PixelFormat, rect: Rect, x: number, y: number): [number, number, number] {
  const bytes = pf.bitsPerPixel / 8;
  const at = (y * rect.w + x) * bytes;
  let value: number;
  if (bytes === 4) value = pf.bigEndian ? rect.data.readUInt32BE(at) : rect.data.readUInt32LE(at);
  else if (bytes === 2) value = pf.bigEndian ? rect.data.readUInt16BE(at) : rect.data.readUInt16LE(at);
  else value = rect.data[at]!;
  const channel = (shift: number, max: number) => Math.round((((value >>> shift) & max) * 255) / max);
  return [channel(pf.redShift, pf.redMax), channel(pf.greenShift, pf.greenMax), channel(pf.blueShift, pf.blueMax)];
}

/** Minimal RFB 3.8 client over any byte stream, for driving consoles in tests. */
export class RfbTestClient {
  /** Set from ServerInit, then by setPixelFormat(). */
  pixelFormat: PixelFormat | undefined;
  width = 0;
  height = 0;
  /** Texts of ServerCutText messages seen so far. */
  readonly serverCutTexts: string[] = [];
  readonly closed: Promise<void>;

  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private isClosed = false;
  private closeError: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(
    private readonly send: (b: Buffer) => void,
    private readonly end: () => void,
    subscribe: (onData: (b: Buffer) => void, onClose: (err?: Error) => void) => void,
  ) {
    let resolveClosed!: () => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    subscribe(
      (b) => {
        this.buffered.push(b);
        this.bufferedLength += b.length;
        this.wake?.();
      },
      (err) => {
        if (this.isClosed) return;
        this.isClosed = true;
        this.closeError = err;
        this.wake?.();
        resolveClosed();
      },
    );
  }

  /** Over a websocket carrying binary frames; frame boundaries are ignored. */
  static overWebSocket(ws: WebSocket): RfbTestClient {
    return new RfbTestClient(
      (b) => ws.send(b, { binary: true }),
      () => ws.close(),
      (onData, onClose) => {
        ws.on('message', (data: RawData) => {
          if (Array.isArray(data)) onData(Buffer.concat(data));
          else onData(Buffer.isBuffer(data) ? data : Buffer.from(data));
        });
        ws.on('error', (err) => onClose(err));
        ws.on('close', () => onClose());
      },
    );
  }

  static overSocket(sock: Socket | TLSSocket): RfbTestClient {
    return new RfbTestClient(
      (b) => sock.write(b),
      () => sock.destroy(),
      (onData, onClose) => {
        sock.on('data', onData);
        sock.on('error', (err) => onClose(err));
        sock.on('close', () => onClose());
      },
    );
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Waits for exactly n bytes of the stream; rejects on timeout or when the stream ends first. */
  async readBytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.bufferedLength < n) {
      if (this.isClosed) {
        throw new Error(`stream closed after ${this.bufferedLength} of ${n} bytes${this.closeError ? `: ${this.closeError.message}` : ''}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (have ${this.bufferedLength})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const all = Buffer.concat(this.buffered);
    this.buffered = all.length > n ? [all.subarray(n)] : [];
    this.bufferedLength = all.length - n;
    return all.subarray(0, n);
  }

  write(b: Buffer): void {
    this.send(b);
  }

  close(): void {
    this.end();
  }

  /** `timeoutMs`: the longest wait for each part of the server's side (default 5 s). */
  async handshake(opts: { password?: string; shared?: boolean; version?: string; timeoutMs?: number } = {}): Promise<HandshakeResult> {
    const read = (n: number) => this.readBytes(n, opts.timeoutMs);
    const serverVersion = (await read(12)).toString('latin1');
    this.write(Buffer.from(opts.version ?? 'RFB 003.008\n', 'latin1'));
    const count = (await read(1))[0]!;
    if (count === 0) {
      return { serverVersion, securityTypes: [], securityResult: 1, reason: await this.readReason(opts.timeoutMs) };
    }
    const securityTypes = [...(await read(count))];
    let chosen: number;
    if (opts.password !== undefined && securityTypes.includes(2)) chosen = 2;
    else if (opts.password === undefined && securityTypes.includes(1)) chosen = 1;
    else throw new Error(`no usable security type among [${securityTypes.join(', ')}]`);
    this.write(Buffer.from([chosen]));
    if (chosen === 2) {
      const challenge = await read(16);
      this.write(vncDesResponse(challenge, opts.password!));
    }
    const securityResult = (await read(4)).readUInt32BE(0);
    if (securityResult !== 0) {
      return { serverVersion, securityTypes, securityResult, reason: await this.readReason(opts.timeoutMs) };
    }
    this.write(Buffer.from([opts.shared === false ? 0 : 1]));
    const head = await read(24);
    const name = (await read(head.readUInt32BE(20))).toString('utf8');
    const serverInit: ServerInit = {
      width: head.readUInt16BE(0),
      height: head.readUInt16BE(2),
      pixelFormat: Buffer.from(head.subarray(4, 20)),
      name,
    };
    this.width = serverInit.width;
    this.height = serverInit.height;
    this.pixelFormat = parsePixelFormat(serverInit.pixelFormat);
    return { serverVersion, securityTypes, securityResult, serverInit };
  }

  private async readReason(timeoutMs?: number): Promise<string> {
    const length = (await this.readBytes(4, timeoutMs)).readUInt32BE(0);
    return (await this.readBytes(length, timeoutMs)).toString('latin1');
  }

  requestUpdate(incremental: boolean, x: number, y: number, w: number, h: number): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    b.writeUInt16BE(w, 6);
    b.writeUInt16BE(h, 8);
    this.write(b);
  }

  setPixelFormat(pf: PixelFormat): void {
    this.write(Buffer.concat([Buffer.from([0, 0, 0, 0]), encodePixelFormat(pf)]));
    this.pixelFormat = pf;
  }

  /** 32 bits per pixel, depth 24, little-endian true colour; the default shifts are QEMU's. */
  setPixelFormat32(shifts: { red: number; green: number; blue: number } = { red: 16, green: 8, blue: 0 }): void {
    this.setPixelFormat({
      bitsPerPixel: 32,
      depth: 24,
      bigEndian: false,
      trueColour: true,
      redMax: 255,
      greenMax: 255,
      blueMax: 255,
      redShift: shifts.red,
      greenShift: shifts.green,
      blueShift: shifts.blue,
    });
  }

  setEncodings(list: number[]): void {
    const b = Buffer.alloc(4 + 4 * list.length);
    b[0] = 2;
    b.writeUInt16BE(list.length, 2);
    list.forEach((encoding, i) => b.writeInt32BE(encoding, 4 + 4 * i));
    this.write(b);
  }

  keyEvent(down: boolean, keysym: number): void {
    const b = Buffer.alloc(8);
    b[0] = 4;
    b[1] = down ? 1 : 0;
    b.writeUInt32BE(keysym, 4);
    this.write(b);
  }

  /** Presses and releases one key per character; "\n" is Return. */
  typeText(text: string): void {
    for (const ch of text) {
      if (ch.charCodeAt(0) > 0xff) throw new Error(`no latin-1 keysym for ${JSON.stringify(ch)}`);
      const keysym = ch === '\n' ? 0xff0d : ch.charCodeAt(0);
      this.keyEvent(true, keysym);
      this.keyEvent(false, keysym);
    }
  }

  clientCutText(text: string): void {
    const body = Buffer.from(text, 'latin1');
    const b = Buffer.alloc(8);
    b[0] = 6;
    b.writeUInt32BE(body.length, 4);
    this.write(Buffer.concat([b, body]));
  }

  /** Reads the next server message; consumes the ones tests never look into. */
  async readServerMessage(timeoutMs = 5000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const type = (await this.readBytes(1, left()))[0]!;
    switch (type) {
      case 0:
        return { type: 'update', rects: await this.readRects(left) };
      case 1: {
        const head = await this.readBytes(5, left());
        await this.readBytes(6 * head.readUInt16BE(3), left());
        return { type: 'other', code: type };
      }
      case 2:
        return { type: 'bell' };
      case 3: {
        const head = await this.readBytes(7, left());
        return { type: 'cutText', text: (await this.readBytes(head.readUInt32BE(3), left())).toString('latin1') };
      }
      case 150:
        return { type: 'other', code: type };
      case 248: {
        const head = await this.readBytes(8, left());
        await this.readBytes(head[7]!, left());
        return { type: 'other', code: type };
      }
      default:
        throw new Error(`unexpected server message type ${type}`);
    }
  }

  /** After the handshake: raw pixels at 32 bits per pixel, and the whole screen once. */
  async readWholeScreen(timeoutMs = 5000): Promise<{ rects: Rect[] }> {
    this.setPixelFormat32();
    this.setEncodings([ENCODING_RAW]);
    this.requestUpdate(false, 0, 0, this.width, this.height);
    return this.readFramebufferUpdate(timeoutMs);
  }

  /** Reads server messages until a FramebufferUpdate; cut texts on the way land in serverCutTexts. */
  async readFramebufferUpdate(timeoutMs = 5000): Promise<{ rects: Rect[] }> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const message = await this.readServerMessage(Math.max(1, deadline - Date.now()));
      if (message.type === 'update') return { rects: message.rects };
      if (message.type === 'cutText') this.serverCutTexts.push(message.text);
    }
  }

  /** The next ServerCutText's text; framebuffer updates on the way are dropped. */
  async readServerCutText(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.serverCutTexts.length === 0) {
      const message = await this.readServerMessage(Math.max(1, deadline - Date.now()));
      if (message.type === 'cutText') return message.text;
    }
    return this.serverCutTexts.shift()!;
  }

  private async readRects(left: () => number): Promise<Rect[]> {
    const count = (await this.readBytes(3, left())).readUInt16BE(1);
    const rects: Rect[] = [];
    for (let i = 0; i < count; i++) {
      const head = await this.readBytes(12, left());
      const rect: Rect = {
        x: head.readUInt16BE(0),
        y: head.readUInt16BE(2),
        w: head.readUInt16BE(4),
        h: head.readUInt16BE(6),
        encoding: head.readInt32BE(8),
        data: Buffer.alloc(0),
      };
      if (rect.encoding === ENCODING_RAW) {
        if (!this.pixelFormat) throw new Error('framebuffer update before ServerInit');
        rect.data = await this.readBytes((rect.w * rect.h * this.pixelFormat.bitsPerPixel) / 8, left());
      } else if (rect.encoding === ENCODING_DESKTOP_SIZE) {
        this.width = rect.w;
        this.height = rect.h;
      } else if (rect.encoding !== ENCODING_QEMU_EXTENDED_KEY_EVENT) {
        throw new Error(`unsupported encoding ${rect.encoding}`);
      }
      rects.push(rect);
    }
    return rects;
  }
}
