// Reads of a console's TLS socket into a buffer of the socket's own, reused from read to read
// (Node's `onread`), instead of a new buffer per TLS record: at console bitrates those buffers,
// counted by V8 as external memory, are what drives its full collections.
import type { TLSSocket } from 'node:tls';

/** TLS's largest record: what one read delivers at most when a console streams. */
const LARGE = 16 * 1024;
/** What an idle or interactive console keeps between reads (pooled by Buffer.allocUnsafe). */
const SMALL = 2 * 1024;

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
  private kept = false;
  private lastRead = 0;
  private taker: ((chunk: Buffer) => boolean) | undefined;

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
   * readable side still holds goes first, so no byte is lost or reordered.
   */
  take(take: (chunk: Buffer) => boolean): void {
    const socket = this.socket!;
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
      const copy = withRoom(chunk.length);
      chunk.copy(copy);
      take(copy);
    }
    this.taker = take;
  }

  /** The view last handed over is still in use (a write holds it): the next read gets a new buffer. */
  bufferKept(): void {
    this.kept = true;
  }

  private onRead(length: number, buffer: Buffer): boolean {
    this.lastRead = length;
    const chunk = buffer.subarray(0, length);
    if (this.taker) return this.taker(chunk);
    // A copy: the buffer is reused for the next read.
    return this.socket!.push(Buffer.from(chunk));
  }

  /** Grows to a full record once one filled the buffer, shrinks back once reads are small again. */
  private nextBuffer(): Buffer {
    const size = this.lastRead >= this.buffer.length ? LARGE : this.lastRead < SMALL ? SMALL : this.buffer.length;
    if (this.kept || size !== this.buffer.length) {
      this.buffer = withRoom(size);
      this.kept = false;
    }
    return this.buffer;
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
