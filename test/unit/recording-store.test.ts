// The recording store on its own: retention by an injected clock, what reaches the disk before the
// end (a crash loses at most the last second), the size cap's closing note, and ids that name
// nothing else.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RecordingStore } from '../../src/recordings/store.js';
import { FLUSH_EVERY_MS } from '../../src/recordings/writer.js';

const DAY = 86_400_000;
const note = { noteRoom: 16, closingNote: () => Buffer.from('[stopped]') };

describe('the recording store', () => {
  let dir: string;
  let now = Date.now();
  let store: RecordingStore;
  const errors: Error[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvnc-store-'));
    store = new RecordingStore({ dir, maxBytes: 1000, retentionDays: 7, now: () => now, onError: (_what, error) => errors.push(error) });
    await store.prepare();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes what it is given within a second, before the recording ends', async () => {
    const recording = store.begin('asciicast', { sessionId: 's1', vmid: 100, tag: 't' }, Buffer.from('header\n'), note);
    recording.write(Buffer.from('first\n'));
    await new Promise((resolve) => setTimeout(resolve, FLUSH_EVERY_MS + 300));
    assert.equal(await readFile(join(dir, `${recording.id}.cast`), 'utf8'), 'header\nfirst\n');
    const info = await store.info(recording.id);
    assert.equal(info?.ended_at, undefined);
    assert.equal(info?.size, 13);
    await recording.finish();
    assert.equal((await store.info(recording.id))?.ended_at !== undefined, true);
    assert.deepEqual(errors, []);
  });

  it('stops at maxBytes with its closing note, the file never longer', async () => {
    const recording = store.begin('vnc', { sessionId: 's2', vmid: 101 }, Buffer.alloc(100), note);
    let accepted = 0;
    while (recording.write(Buffer.alloc(100, 1))) accepted++;
    assert.equal(accepted, 8, 'room for the header, eight records and the note');
    assert.equal(recording.write(Buffer.alloc(1)), false, 'nothing more once stopped');
    await recording.finish();
    const bytes = await readFile(join(dir, `${recording.id}.pvncrec`));
    assert.ok(bytes.length <= 1000);
    assert.equal(bytes.subarray(-9).toString(), '[stopped]');
    assert.equal((await store.info(recording.id))?.stopped, 'size_limit');
  });

  it('deletes what was last written more than recording_retention days ago, and nothing else', async () => {
    const old = store.begin('asciicast', { sessionId: 'old', vmid: 100 }, Buffer.from('h\n'), note);
    await old.finish();
    const fresh = store.begin('asciicast', { sessionId: 'fresh', vmid: 100 }, Buffer.from('h\n'), note);
    await fresh.finish();
    const live = store.begin('asciicast', { sessionId: 'live', vmid: 100 }, Buffer.from('h\n'), note);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Written eight days before the clock's now, as the disk tells it.
    const eightDaysAgo = new Date(now - 8 * DAY);
    await utimes(join(dir, `${old.id}.cast`), eightDaysAgo, eightDaysAgo);
    const unrelated = join(dir, 'notes.txt');
    await writeFile(unrelated, 'the operator keeps this here');
    await utimes(unrelated, eightDaysAgo, eightDaysAgo);
    assert.equal(await store.sweep(), 1);
    const left = await readdir(dir);
    assert.ok(!left.some((name) => name.startsWith(old.id)), 'the old recording and its sidecar are gone');
    assert.ok(left.includes(`${fresh.id}.cast`) && left.includes(`${fresh.id}.json`));
    assert.ok(left.includes('notes.txt'), 'files that are no recording stay');
    // Eight days on, all but the one still being written are past retention.
    now += 8 * DAY;
    assert.equal(await store.sweep(), 3, 'the fresh one and the two of the tests before');
    assert.ok((await readdir(dir)).includes(`${live.id}.cast`), 'a recording being written is never swept');
    await live.finish();
    now -= 8 * DAY;
  });

  it('knows ids of its own pattern only', async () => {
    for (const id of ['../x', `${'a'.repeat(31)}/`, 'A'.repeat(32), '', `${'0'.repeat(32)}.json`]) {
      assert.equal(await store.info(id), null, id);
      assert.equal(await store.read(id), null, id);
      assert.equal(await store.delete(id), false, id);
    }
    const files = await readdir(dir);
    for (const file of files.filter((f) => f !== 'notes.txt')) assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file);
  });
});
