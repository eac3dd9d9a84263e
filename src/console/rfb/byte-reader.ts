import { RfbProtocolError, RfbStreamClosedError } from './errors.js';

/** Bytes a handshake may hold unread before the peer counts as misbehaving. */
const DEFAULT_MAX_BUFFERED = 64 * 1024;

/**
 * Turns chunks arriving in any cut into exact reads. One read may wait at a time, as in a
 * handshake, where each step depends on the previous one.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private failure: Error | undefined;
  private waiter: { n: number; resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  private failedSignal: { promise: Promise<never>; reject(e: Error): void } | undefined;

  constructor(private readonly maxBuffered = DEFAULT_MAX_BUFFERED) {}

  get buffered(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (this.failure || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.maxBuffered) {
      this.fail(new RfbProtocolError(`the peer sent more than ${this.maxBuffered} bytes ahead of the handshake`));
      return;
    }
    this.serve();
  }

  /** Ends the stream: the waiting read and every later one reject with `err`. */
  fail(err: Error = new RfbStreamClosedError()): void {
    if (this.failure) return;
    this.failure = err;
    this.chunks = [];
    this.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
    this.failedSignal?.reject(err);
  }

  /** Rejects once the stream ends or misbehaves: for noticing that while waiting on something else. */
  failed(): Promise<never> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.failedSignal) {
      let reject!: (e: Error) => void;
      const promise = new Promise<never>((_, r) => (reject = r));
      // Nobody has to be listening when the stream ends.
      promise.catch(() => {});
      this.failedSignal = { promise, reject };
    }
    return this.failedSignal.promise;
  }

  read(n: number): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error('ByteReader: a read is already pending'));
    if (this.length >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  async readU8(): Promise<number> {
    return (await this.read(1))[0]!;
  }

  async readU32(): Promise<number> {
    return (await this.read(4)).readUInt32BE(0);
  }

  /** A U32 length followed by that many bytes, refused beyond `max`. */
  async readLengthPrefixed(max: number, what: string): Promise<Buffer> {
    const length = await this.readU32();
    if (length > max) throw new RfbProtocolError(`${what} of ${length} bytes exceeds the limit of ${max}`);
    return this.read(length);
  }

  /** Everything received but not read: handed to the relay once the handshake is over. */
  drain(): Buffer {
    const rest = Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    return rest;
  }

  private serve(): void {
    const waiter = this.waiter;
    if (!waiter || this.length < waiter.n) return;
    this.waiter = undefined;
    waiter.resolve(this.take(waiter.n));
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      // The common case: no copying when one chunk holds the whole read.
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks, this.length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }
}
