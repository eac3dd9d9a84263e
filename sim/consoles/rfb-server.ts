// An RFB (VNC) server for one simulated guest display, behaving as QEMU's VNC server does with
// password=on: RFB 3.3/3.7/3.8, only security type 2, QEMU's failure answer, QEMU's share policy.
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { ClientMessageReader, type ClientMessage } from './client-messages.js';
import { containsRegion, intersectRegion, unionRegion, type Framebuffer, type Region } from './framebuffer.js';
import { NATIVE_FORMAT, encodePixelFormat, encodeRegion, parseClientPixelFormat, type PixelFormat } from './pixel-format.js';
import { newChallenge, type VncPassword } from './vnc-auth.js';

const SECURITY_VNC_AUTH = 2;
const ENCODING_RAW = 0;
/** Pseudo-encoding by which QEMU tells a client it understands extended key events (message 255/0). */
const ENCODING_QEMU_EXTENDED_KEY_EVENT = -258;
const FENCE_REQUEST = 0x80000000;

/** QEMU's SecurityResult failure: U32 1, then (RFB 3.8) a U32 length and "Authentication failed" with its NUL. */
export const QEMU_AUTH_FAILURE_REASON = Buffer.from('Authentication failed\0', 'latin1');
/** vncterm (containers' console) says this instead, without a NUL. */
export const VNCTERM_AUTH_FAILURE_REASON = Buffer.from('password check failed!', 'latin1');

/** Where a display's keyboard events go. */
export interface KeySink {
  press(keysym: number): void;
  /** Key releases matter only to sinks that track modifiers. */
  release?(keysym: number): void;
}

export interface RfbServerOptions {
  socketPath: string;
  name: string;
  framebuffer: Framebuffer;
  password: VncPassword;
  keys: KeySink;
  authFailureReason: Buffer;
  bulk: boolean;
  echoClipboard: boolean;
  /** Called whenever a connection arrives or goes (vncterm's lifetime depends on it). */
  onConnectionCount?(count: number): void;
}

type ShareMode = 'connecting' | 'shared' | 'exclusive';

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function rectHeader(region: Region, encoding: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(region.x, 0);
  b.writeUInt16BE(region.y, 2);
  b.writeUInt16BE(region.w, 4);
  b.writeUInt16BE(region.h, 6);
  b.writeInt32BE(encoding, 8);
  return b;
}

function updateHeader(rectCount: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(rectCount, 2);
  return b;
}

export class RfbServer {
  private readonly server: Server;
  private readonly viewers = new Set<Viewer>();
  private readonly stopWatching: () => void;

  constructor(private readonly opts: RfbServerOptions) {
    this.server = createServer((socket) => {
      this.viewers.add(new Viewer(socket, opts, this));
      opts.onConnectionCount?.(this.viewers.size);
    });
    this.server.on('error', () => {
      // A listening error after start only stops new connections; existing viewers carry on.
    });
    this.stopWatching = opts.framebuffer.onChange((region) => {
      for (const viewer of this.viewers) viewer.framebufferChanged(region);
    });
  }

  async listen(): Promise<void> {
    await rm(this.opts.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops listening and drops every viewer. */
  async close(): Promise<void> {
    this.stopWatching();
    for (const viewer of this.viewers) viewer.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.opts.socketPath, { force: true });
  }

  forget(viewer: Viewer): void {
    if (this.viewers.delete(viewer)) this.opts.onConnectionCount?.(this.viewers.size);
  }

  /** QEMU's "allow-exclusive" share policy; false when the newcomer itself must go. */
  admit(newcomer: Viewer, mode: 'shared' | 'exclusive'): boolean {
    const others = [...this.viewers].filter((v) => v !== newcomer && v.shareMode !== 'connecting');
    if (mode === 'exclusive') {
      for (const other of others) other.drop();
      return true;
    }
    return !others.some((other) => other.shareMode === 'exclusive');
  }
}

class Viewer {
  shareMode: ShareMode = 'connecting';
  private stage: 'version' | 'securityType' | 'auth' | 'clientInit' | 'messages' | 'closed' = 'version';
  private minor = 8;
  private readonly challenge = newChallenge();
  private handshakeBytes = Buffer.alloc(0);
  private readonly messages = new ClientMessageReader();
  private pixelFormat: PixelFormat = NATIVE_FORMAT;
  private dirty: Region | undefined;
  private waitingRequest: Region | undefined;
  private bulkFrames: Buffer[] | undefined;
  private bulkFrameIndex = 0;
  private awaitingDrain = false;

  constructor(
    private readonly socket: Socket,
    private readonly opts: RfbServerOptions,
    private readonly server: RfbServer,
  ) {
    socket.on('error', () => this.drop());
    socket.on('close', () => this.drop());
    socket.on('data', (chunk: Buffer) => {
      try {
        this.receive(chunk);
      } catch {
        // Whatever a client sends, only that client is dropped, as QEMU does on protocol errors.
        this.drop();
      }
    });
    socket.write('RFB 003.008\n');
  }

  drop(): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    this.shareMode = 'connecting';
    this.server.forget(this);
    this.socket.destroy();
  }

  private refuse(answer: Buffer): void {
    this.stage = 'closed';
    this.server.forget(this);
    this.socket.end(answer, () => this.socket.destroy());
  }

  /** Takes n handshake bytes once they are all there. */
  private take(n: number): Buffer | undefined {
    if (this.handshakeBytes.length < n) return undefined;
    const taken = this.handshakeBytes.subarray(0, n);
    this.handshakeBytes = this.handshakeBytes.subarray(n);
    return taken;
  }

  private receive(chunk: Buffer): void {
    if (this.stage === 'closed') return;
    let messageBytes = chunk;
    if (!this.inMessageStage()) {
      this.handshakeBytes = Buffer.concat([this.handshakeBytes, chunk]);
      while (this.handshakeStep()) {
        // each step consumed its bytes; the next may already be complete
      }
      if (!this.inMessageStage()) return;
      messageBytes = this.handshakeBytes;
      this.handshakeBytes = Buffer.alloc(0);
    }
    for (const message of this.messages.push(messageBytes)) this.handle(message);
  }

  private inMessageStage(): boolean {
    return this.stage === 'messages';
  }

  /** One handshake step; false while waiting for more bytes. */
  private handshakeStep(): boolean {
    switch (this.stage) {
      case 'version': {
        const line = this.take(12);
        if (!line) return false;
        const match = /^RFB 003\.(\d{3})\n$/.exec(line.toString('latin1'));
        const minor = match ? Number(match[1]) : -1;
        if (![3, 4, 5, 7, 8].includes(minor)) {
          // QEMU answers an unsupported version with security type 0 (invalid) and hangs up.
          this.refuse(u32(0));
          return false;
        }
        // 3.4 and 3.5 are Apple's variants of 3.3.
        this.minor = minor === 4 || minor === 5 ? 3 : minor;
        if (this.minor === 3) {
          this.socket.write(Buffer.concat([u32(SECURITY_VNC_AUTH), this.challenge]));
          this.stage = 'auth';
        } else {
          this.socket.write(Buffer.from([1, SECURITY_VNC_AUTH]));
          this.stage = 'securityType';
        }
        return true;
      }
      case 'securityType': {
        const chosen = this.take(1);
        if (!chosen) return false;
        if (chosen[0] !== SECURITY_VNC_AUTH) {
          this.refuseAuth();
          return false;
        }
        this.socket.write(this.challenge);
        this.stage = 'auth';
        return true;
      }
      case 'auth': {
        const response = this.take(16);
        if (!response) return false;
        if (!this.opts.password.verify(this.challenge, response)) {
          this.refuseAuth();
          return false;
        }
        this.socket.write(u32(0));
        this.stage = 'clientInit';
        return true;
      }
      case 'clientInit': {
        const flag = this.take(1);
        if (!flag) return false;
        const mode = flag[0] !== 0 ? 'shared' : 'exclusive';
        if (!this.server.admit(this, mode)) {
          this.drop();
          return false;
        }
        this.shareMode = mode;
        const name = Buffer.from(this.opts.name, 'utf8');
        const size = Buffer.alloc(4);
        size.writeUInt16BE(this.opts.framebuffer.width, 0);
        size.writeUInt16BE(this.opts.framebuffer.height, 2);
        this.socket.write(Buffer.concat([size, encodePixelFormat(NATIVE_FORMAT), u32(name.length), name]));
        this.stage = 'messages';
        return true;
      }
      default:
        return false;
    }
  }

  private refuseAuth(): void {
    const reason = this.opts.authFailureReason;
    this.refuse(this.minor >= 8 ? Buffer.concat([u32(1), u32(reason.length), reason]) : u32(1));
  }

  private handle(message: ClientMessage): void {
    if (!this.inMessageStage()) return;
    switch (message.type) {
      case 'setPixelFormat': {
        const pf = parseClientPixelFormat(message.pixelFormat);
        if (!pf) {
          this.drop();
          return;
        }
        this.pixelFormat = pf;
        this.bulkFrames = undefined;
        this.dirty = this.opts.framebuffer.bounds;
        return;
      }
      case 'setEncodings':
        if (message.encodings.includes(ENCODING_QEMU_EXTENDED_KEY_EVENT)) {
          this.socket.write(Buffer.concat([updateHeader(1), rectHeader(this.opts.framebuffer.bounds, ENCODING_QEMU_EXTENDED_KEY_EVENT)]));
        }
        return;
      case 'updateRequest':
        this.updateRequested(message, message.incremental);
        return;
      case 'key':
        if (message.down) this.opts.keys.press(message.keysym);
        else this.opts.keys.release?.(message.keysym);
        return;
      case 'cutText':
        if (this.opts.echoClipboard) {
          const text = Buffer.from(message.text, 'latin1');
          this.socket.write(Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(text.length), text]));
        }
        return;
      case 'fence':
        if (message.flags & FENCE_REQUEST) {
          const head = Buffer.from([248, 0, 0, 0, 0, 0, 0, 0, message.payload.length]);
          head.writeUInt32BE((message.flags & ~FENCE_REQUEST) >>> 0, 4);
          this.socket.write(Buffer.concat([head, message.payload]));
        }
        return;
      default:
        // Pointer, audio, continuous updates and desktop size requests change nothing here.
        return;
    }
  }

  private updateRequested(requested: Region, incremental: boolean): void {
    const region = intersectRegion(requested, this.opts.framebuffer.bounds);
    if (!region) return;
    if (this.opts.bulk) {
      this.sendBulkFrame();
      return;
    }
    if (!incremental) this.dirty = unionRegion(this.dirty, region);
    this.waitingRequest = region;
    this.flush();
  }

  framebufferChanged(region: Region): void {
    if (this.stage !== 'messages') return;
    this.dirty = unionRegion(this.dirty, region);
    this.flush();
  }

  /** Answers the held update request with what changed in it, once the socket has room. */
  private flush(): void {
    if (!this.waitingRequest || !this.dirty || this.stage !== 'messages') return;
    if (this.waitForDrain(() => this.flush())) return;
    const region = intersectRegion(this.waitingRequest, this.dirty);
    if (!region) return;
    if (containsRegion(this.waitingRequest, this.dirty)) this.dirty = undefined;
    this.waitingRequest = undefined;
    this.socket.write(Buffer.concat([updateHeader(1), rectHeader(region, ENCODING_RAW), encodeRegion(this.opts.framebuffer, region, this.pixelFormat)]));
  }

  /** Backpressure: true when the socket is full, and then `then` runs once (however often asked) after it drained. */
  private waitForDrain(then: () => void): boolean {
    if (!this.socket.writableNeedDrain) return false;
    if (!this.awaitingDrain) {
      this.awaitingDrain = true;
      this.socket.once('drain', () => {
        this.awaitingDrain = false;
        then();
      });
    }
    return true;
  }

  /** Benchmark mode: a whole screen of raw pixels per request, alternating so every frame differs. */
  private sendBulkFrame(): void {
    if (this.waitForDrain(() => this.sendBulkFrame())) return;
    this.bulkFrames ??= bulkFrames(this.opts.framebuffer, this.pixelFormat);
    this.bulkFrameIndex = (this.bulkFrameIndex + 1) % this.bulkFrames.length;
    this.socket.write(this.bulkFrames[this.bulkFrameIndex]!);
  }
}

/** A few full-screen updates, each the screen with a bar in a different place, encoded once per pixel format. */
function bulkFrames(fb: Framebuffer, pf: PixelFormat): Buffer[] {
  const bounds = fb.bounds;
  const header = Buffer.concat([updateHeader(1), rectHeader(bounds, ENCODING_RAW)]);
  const base = encodeRegion(fb, bounds, pf);
  const bytesPerPixel = pf.bitsPerPixel / 8;
  const rowBytes = fb.width * bytesPerPixel;
  const frameCount = 4;
  return Array.from({ length: frameCount }, (_, i) => {
    const pixels = Buffer.from(base);
    const barTop = Math.floor((fb.height / frameCount) * i);
    pixels.fill(0xff, barTop * rowBytes, (barTop + 8) * rowBytes);
    return Buffer.concat([header, pixels]);
  });
}
