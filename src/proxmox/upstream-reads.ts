// Reads of a console's TLS socket into a buffer of the socket's own, reused from read to read
// (Node's `onread`), instead of a new buffer per TLS record: at console bitrates those buffers,
// counted by V8 as external memory, are what drives its full collections.
import type { TLSSocket } from 'node:tls';

/** TLS's largest record: what one read delivers at most when a console streams. */
const LARGE = 16 * 1024;
/** What an idle or interactive console keeps between reads (pooled by Buffer.allocUnsafe). */
const SMALL = 1024;
/** Full buffers still held by writes, kept for reuse once those end: a slow browser's queue is short. */
const MAX_HELD = 16;
/**
 * Full buffers free for any console's next burst. Shared, so that a console that went quiet
 * holds only a small buffer, and a burst starts without an allocation.
 */
const freeLarge: Buffer[] = [];
const MAX_FREE = 64;

const readsKey = Symbol('proxmoxvnc.upstreamReads');
/**
 * Bytes before each chunk handed to the taker that are its to overwrite: room for a websocket
 * frame header (at most 10 bytes unmasked), so a chunk can be sent on as a frame in one write.
 */
export const ROOM_BEFORE = 10;

/**
 * Until someone takes the reads, each one is copied into the socket's readable side, so the
 * socket behaves as any other to the HTTP client and ws (pause, resume and 'data' included).
 * Once taken, each read goes to the taker as a view into the reused buffer, which must be done
 * with it before returning, or say so with `bufferKept()`. The ROOM_BEFORE bytes in front of
 * each such view are the taker's too.
 */
export class UpstreamReads {
  private socket: TLSSocket | undefined;
  private buffer = withRoom(SMALL);
  /** Set by bufferKept(): the taker's count at which the current buffer is free again. */
  private keptUntil: number | undefined;
  /** Buffers that writes still held, oldest first, each with the count at which it is free. */
  private held: { buffer: Buffer; until: number }[] = [];
  private lastRead = 0;
  private taker: ((chunk: Buffer) => boolean) | undefined;
  private done: () => number = () => 0;

  /** For `tls.connect`. */
  readonly onread = {
    buffer: (): Buffer => this.nextBuffer(),
    callback: (length: number, buffer: Buffer): boolean => this.onRead(length, buffer),
  };

  /** Called with the socket `onread` was given to, before any byte arrives. */
  bind(socket: TLSSocket): void {
    this.socket = socket;
    (socket as unknown as Record<symbol, UpstreamReads>)[readsKey] = this;
  }

  /**
   * From now on every read goes to `take` (false pauses the socket until `resume()`). What the
   * readable side still holds goes first, so no byte is lost or reordered. `done()` is a count
   * that only grows (e.g. bytes whose writes ended), which bufferKept() marks are read against.
   */
  take(take: (chunk: Buffer) => boolean, done: () => number): void {
    this.done = done;
    const socket = this.socket!;
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
      const copy = withRoom(chunk.length);
      chunk.copy(copy);
      take(copy);
    }
    this.taker = take;
  }

  /**
   * The view last handed over is still in use (a write holds it) until `done()` reaches `until`:
   * the next read gets another buffer, and this one is reused once free.
   */
  bufferKept(until: number): void {
    this.keptUntil = until;
  }

  private onRead(length: number, buffer: Buffer): boolean {
    this.lastRead = length;
    const chunk = buffer.subarray(0, length);
    if (this.taker) return this.taker(chunk);
    // A copy: the buffer is reused for the next read.
    return this.socket!.push(Buffer.from(chunk));
  }

  /**
   * Grows to a full record once one filled the buffer, shrinks back after a small read: the
   * socket keeps the buffer it was last given until its next read, however long the console
   * stays quiet.
   */
  private nextBuffer(): Buffer {
    const size = this.lastRead >= this.buffer.length ? LARGE : this.lastRead < SMALL ? SMALL : this.buffer.length;
    if (this.keptUntil !== undefined) {
      if (this.buffer.length === LARGE && this.held.length < MAX_HELD) this.held.push({ buffer: this.buffer, until: this.keptUntil });
      this.keptUntil = undefined;
    } else if (size !== this.buffer.length && this.buffer.length === LARGE && freeLarge.length < MAX_FREE) {
      freeLarge.push(this.buffer);
    } else if (size === this.buffer.length) {
      return this.buffer;
    }
    if (size === SMALL) {
      this.releaseHeld();
      this.buffer = withRoom(SMALL);
    } else {
      this.buffer = this.reusable() ?? freeLarge.pop() ?? withRoom(LARGE);
    }
    return this.buffer;
  }

  /** The oldest held buffer, once free (writes end in order); at most one check per read. */
  private reusable(): Buffer | undefined {
    const oldest = this.held[0];
    if (!oldest || oldest.until > this.done()) return undefined;
    this.held.shift();
    return oldest.buffer;
  }

  /** Held buffers whose writes ended go back to be shared; the others are left to their writes. */
  private releaseHeld(): void {
    const done = this.done();
    for (const { buffer, until } of this.held) if (until <= done && freeLarge.length < MAX_FREE) freeLarge.push(buffer);
    this.held = [];
  }
}

/** A buffer of `size` bytes with ROOM_BEFORE bytes of the same memory in front of it. */
function withRoom(size: number): Buffer {
  return Buffer.allocUnsafe(ROOM_BEFORE + size).subarray(ROOM_BEFORE);
}

/** The reads of a socket opened with UpstreamReads, e.g. ws's socket of a dialed console. */
export function upstreamReadsOf(socket: object): UpstreamReads | undefined {
  return (socket as Record<symbol, UpstreamReads | undefined>)[readsKey];
}
