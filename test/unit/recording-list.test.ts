// `GET /recordings` with many recordings: every one is listed even where the process may open few
// files at once (a list that read all sidecars together lost those its reads had no descriptor for).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { RecordingStore } from '../../src/recordings/store.js';

const RECORDINGS = 400;

describe('listing many recordings', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvnc-list-'));
    const started = Date.now();
    for (let i = 0; i < RECORDINGS; i++) {
      const id = randomBytes(16).toString('hex');
      const info = { id, kind: 'asciicast', session_id: `s${i}`, tag: null, vmid: 100, node: null, started_at: new Date(started + i).toISOString(), duration: 0, size: 0 };
      await writeFile(join(dir, `${id}.json`), `${JSON.stringify(info)}\n`);
      await writeFile(join(dir, `${id}.cast`), 'h\n');
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists them all', async () => {
    const store = new RecordingStore({ dir, maxBytes: 1000, retentionDays: 7, onError: () => {} });
    const list = await store.list();
    assert.equal(list.length, RECORDINGS);
    assert.equal(list[0]?.session_id, `s${RECORDINGS - 1}`, 'newest first');
  });

  it('lists them all with 64 file descriptors to the process', async () => {
    const storeModule = new URL('../../src/recordings/store.js', import.meta.url).href;
    const script = `
      import { RecordingStore } from ${JSON.stringify(storeModule)};
      const store = new RecordingStore({ dir: process.argv[1], maxBytes: 1000, retentionDays: 7, onError: () => {} });
      process.stdout.write(String((await store.list()).length));`;
    const { stdout } = await promisify(execFile)('bash', ['-c', 'ulimit -n 64 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, dir]);
    assert.equal(Number(stdout), RECORDINGS);
  });
});
