// The recording writer against a file it cannot rush: a disk that falls behind stops the recording
// with `disk_too_slow` before the queue outgrows 32 MiB (bytes waiting behind a slow write count
// as much as bytes not yet flushed), and a file that opened is closed even after a write failed.
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { RecordingWriter } from '../../src/recordings/writer.js';

const MiB = 1024 * 1024;

/** A file whose writes finish only when told to, or fail; it says whether it was closed. */
class SlowFile {
  written = 0;
  closed = false;
  failWith: Error | undefined;
  private waiting: (() => void)[] = [];

  writev(chunks: Buffer[]): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.written += chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        resolve();
      });
    });
  }

  /** Lets every write finish, those queued behind as they come. */
  async catchUp(): Promise<void> {
    // A write is asked for a few promise steps after its flush: wait a turn before each look.
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = this.waiting.shift();
      if (!next) return;
      next();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  get handle(): Promise<FileHandle> {
    return Promise.resolve(this as unknown as FileHandle);
  }
}

function writer(file: SlowFile, errors: Error[] = []): RecordingWriter {
  return new RecordingWriter(file.handle, {
    maxBytes: 1024 * MiB,
    noteRoom: 16,
    closingNote: (reason) => Buffer.from(`[${reason}]`),
    onError: (error) => errors.push(error),
  });
}

/** Closes the recording, its last writes let through. */
async function finish(recording: RecordingWriter, file: SlowFile): Promise<void> {
  const closed = recording.close();
  await file.catchUp();
  await closed;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heldBuffers(): number {
  gc?.();
  return process.memoryUsage().arrayBuffers;
}

describe('the recording writer', () => {
  it('stops with disk_too_slow when the disk falls behind, holding no more than the limit', async () => {
    const file = new SlowFile();
    const recording = writer(file);
    const before = heldBuffers();
    let accepted = 0;
    // 128 MiB offered in 64 KiB records while the first write never finishes.
    for (let i = 0; i < 2048; i++) {
      if (!recording.write(Buffer.alloc(64 * 1024, 1))) break;
      accepted += 64 * 1024;
    }
    assert.equal(recording.stopReason, 'disk_too_slow');
    assert.ok(accepted <= 32 * MiB, `${accepted / MiB} MiB taken while the disk wrote nothing`);
    assert.ok(accepted >= 31 * MiB, 'a slow disk gets the whole allowance first');
    if (gc) {
      const held = heldBuffers() - before;
      assert.ok(held < 40 * MiB, `${(held / MiB).toFixed(1)} MiB held for a 32 MiB limit`);
    }
    await finish(recording, file);
    assert.equal(file.written, recording.size, 'what was taken reaches the file, the note included');
    assert.ok(file.closed);
  });

  it('goes on while the disk keeps up, however much passes through', async () => {
    const file = new SlowFile();
    const recording = writer(file);
    for (let i = 0; i < 1024; i++) {
      assert.ok(recording.write(Buffer.alloc(64 * 1024, 1)), `record ${i} taken`);
      await file.catchUp();
    }
    assert.equal(recording.stopReason, undefined);
    await finish(recording, file);
    assert.equal(file.written, 64 * MiB);
  });

  it('closes a file that opened even after a write failed', async () => {
    const file = new SlowFile();
    file.failWith = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const errors: Error[] = [];
    const recording = writer(file, errors);
    recording.write(Buffer.alloc(2 * MiB));
    await recording.close();
    assert.equal(recording.stopReason, 'write_failed');
    assert.deepEqual(errors, [file.failWith], 'reported once');
    assert.ok(file.closed, 'the descriptor is not left open');
  });

  it('closes nothing when the file never opened', async () => {
    const errors: Error[] = [];
    const recording = new RecordingWriter(Promise.reject(new Error('EACCES')), {
      maxBytes: MiB,
      noteRoom: 16,
      closingNote: () => Buffer.alloc(0),
      onError: (error) => errors.push(error),
    });
    assert.equal(recording.write(Buffer.from('lost')), true);
    await recording.close();
    assert.equal(recording.stopReason, 'write_failed');
    assert.equal(errors.length, 1);
  });
});
