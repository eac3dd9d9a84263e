/** The newest bytes of a terminal's output, up to a bound, for a viewer that joins later. */
export class Scrollback {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Bytes were dropped from the front: what is kept starts somewhere inside the stream. */
  private trimmed = false;

  constructor(private readonly limit: number) {}

  push(bytes: Buffer): void {
    if (bytes.length === 0 || this.limit === 0) return;
    if (bytes.length >= this.limit) {
      // A copy: the chunk may be a view of a large buffer that should not stay alive for it.
      this.chunks = [Buffer.from(bytes.subarray(bytes.length - this.limit))];
      this.length = this.limit;
      this.trimmed = true;
      return;
    }
    this.chunks.push(bytes);
    this.length += bytes.length;
    while (this.length > this.limit) {
      const head = this.chunks[0]!;
      const excess = this.length - this.limit;
      if (head.length <= excess) {
        this.chunks.shift();
        this.length -= head.length;
      } else {
        this.chunks[0] = Buffer.from(head.subarray(excess));
        this.length -= excess;
      }
      this.trimmed = true;
    }
  }

  /**
   * What is kept, to replay. Once the front was dropped, the replay starts after the first line
   * end, so it does not begin inside an escape sequence or a UTF-8 character.
   */
  replay(): Buffer {
    const all = Buffer.concat(this.chunks, this.length);
    if (!this.trimmed) return all;
    const lineEnd = all.indexOf(0x0a);
    return lineEnd < 0 ? all : all.subarray(lineEnd + 1);
  }

  get size(): number {
    return this.length;
  }
}
