/**
 * The newest bytes of a terminal's output, up to a bound, for a viewer that joins later. A ring of
 * that many bytes, each output copied in: a serial console sends a few bytes at a time, and a
 * Buffer kept per message would cost more than its bytes, many times over the bound.
 */
export class Scrollback {
  private ring: Buffer | undefined;
  /** Where the next byte goes. */
  private end = 0;
  private length = 0;
  /** Bytes were dropped from the front: what is kept starts somewhere inside the stream. */
  private trimmed = false;

  constructor(private readonly limit: number) {}

  push(bytes: Buffer): void {
    if (bytes.length === 0 || this.limit === 0) return;
    // Allocated with the first output: a console that prints nothing costs nothing.
    const ring = (this.ring ??= Buffer.allocUnsafe(this.limit));
    const kept = bytes.length > this.limit ? bytes.subarray(bytes.length - this.limit) : bytes;
    const first = Math.min(kept.length, this.limit - this.end);
    kept.copy(ring, this.end, 0, first);
    kept.copy(ring, 0, first);
    this.end = (this.end + kept.length) % this.limit;
    if (this.length + bytes.length > this.limit) this.trimmed = true;
    this.length = Math.min(this.limit, this.length + bytes.length);
  }

  /**
   * A copy of what is kept, to replay. Once the front was dropped, the replay starts after the
   * first line end, so it does not begin inside an escape sequence or a UTF-8 character.
   */
  replay(): Buffer {
    if (!this.ring || this.length === 0) return Buffer.alloc(0);
    const start = (this.end - this.length + this.limit) % this.limit;
    const all = start + this.length <= this.limit ? Buffer.from(this.ring.subarray(start, start + this.length)) : Buffer.concat([this.ring.subarray(start), this.ring.subarray(0, this.end)]);
    if (!this.trimmed) return all;
    const lineEnd = all.indexOf(0x0a);
    return lineEnd < 0 ? all : all.subarray(lineEnd + 1);
  }

  get size(): number {
    return this.length;
  }
}
