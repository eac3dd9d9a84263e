import type { FileHandle } from 'node:fs/promises';

/** What is written at most a second after it was seen: a crash loses no more. */
export const FLUSH_EVERY_MS = 1000;
/** Written sooner once this much waits. */
const FLUSH_AT_BYTES = 1024 * 1024;
/** A disk that cannot keep up ends the recording rather than the gateway's memory. */
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

export type StopReason = 'size_limit' | 'disk_too_slow' | 'write_failed';

export interface WriterOptions {
  /** The file's bytes at most, the closing note included. */
  maxBytes: number;
  /** Room kept for the closing note once the limit stops the recording. */
  noteRoom: number;
  /** The last bytes of a recording stopped early, saying why. */
  closingNote(reason: StopReason): Buffer;
  onError(error: Error): void;
}

/**
 * Appends to one recording file from the relay's hot path without waiting for the disk: `write`
 * copies nothing itself (the caller hands over a buffer of its own) and queues; the queue goes
 * to the file every second, or sooner when it grows, one write at a time.
 */
export class RecordingWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes flushed but not yet written: behind a slow disk they wait in `writing`, held all the same. */
  private flushedBytes = 0;
  /** Bytes accepted: written or queued. */
  private accepted = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private stoppedBy: StopReason | undefined;
  private closed = false;

  /** `file` may still be opening: what comes meanwhile waits in the queue. */
  constructor(
    private readonly file: Promise<FileHandle>,
    private readonly options: WriterOptions,
  ) {
    this.writing = file.then(
      () => {},
      (error: Error) => this.failed(error),
    );
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Bytes in the file once everything queued is written. */
  get size(): number {
    return this.accepted;
  }

  /** Why the recording stopped before its connection ended, if it did. */
  get stopReason(): StopReason | undefined {
    return this.stoppedBy;
  }

  /** Whether more is taken: false once stopped or closed. */
  get open(): boolean {
    return this.stoppedBy === undefined && !this.closed;
  }

  /** Queues `bytes` (kept as given: the caller must not reuse them); false once the recording stopped. */
  write(bytes: Buffer): boolean {
    if (!this.open) return false;
    if (this.accepted + bytes.length + this.options.noteRoom > this.options.maxBytes) {
      this.stop('size_limit');
      return false;
    }
    if (this.pendingBytes + this.flushedBytes + bytes.length > MAX_PENDING_BYTES) {
      this.stop('disk_too_slow');
      return false;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.accepted += bytes.length;
    if (this.pendingBytes >= FLUSH_AT_BYTES) this.flush();
    return true;
  }

  /** Ends the recording early with a closing note saying why. */
  stop(reason: StopReason): void {
    if (!this.open) return;
    this.stoppedBy = reason;
    const note = this.options.closingNote(reason);
    if (this.accepted + note.length <= this.options.maxBytes) {
      this.pending.push(note);
      this.pendingBytes += note.length;
      this.accepted += note.length;
    }
    this.flush();
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    clearInterval(this.timer);
    this.flush();
    // A file that opened is closed even after a write failed: a descriptor per connection otherwise.
    this.writing = this.writing
      .then(() => this.file.then((handle) => handle.close(), () => {}))
      .catch((error: Error) => this.failed(error));
    return this.writing;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.flushedBytes += bytes;
    this.writing = this.writing
      .then(async () => {
        try {
          if (this.stoppedBy === 'write_failed') return;
          // One system call for the lot (libuv loops over partial writes and IOV_MAX), no copy.
          await (await this.file).writev(chunks);
        } finally {
          this.flushedBytes -= bytes;
        }
      })
      .catch((error: Error) => this.failed(error));
  }

  /** A full disk, a removed folder: the console goes on unrecorded. */
  private failed(error: Error): void {
    if (this.stoppedBy !== 'write_failed') this.options.onError(error);
    this.stoppedBy = 'write_failed';
    this.pending = [];
    this.pendingBytes = 0;
  }
}
