// Fuzzing the recording routes and the player's: paths built of ids, escapes, dot segments and
// other recordings' ids, with and without the control secret and the player cookie. Never a 5xx,
// a file only for its own id with the secret or its own cookie, nothing outside the folder.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { RecordingStore } from '../../src/recordings/store.js';
import { redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { fuzz } from './support.js';

const OUTSIDE = 'a file beside the recording folder';

describe('fuzzing the recording and player paths', () => {
  let tg: TestGateway;
  let work: string;
  let id: string;
  let cookie: string;
  let file: Buffer;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pvnc-fuzz-rec-'));
    const dir = join(work, 'recordings');
    await writeFile(join(work, 'outside.json'), OUTSIDE);
    // One recording made by the store itself, as a gateway would have.
    const store = new RecordingStore({ dir, maxBytes: 1 << 20, retentionDays: 1, onError: (_what, error) => assert.fail(error) });
    await store.prepare();
    const recording = store.begin('asciicast', { sessionId: 's', vmid: 100 }, Buffer.from('{"version":2,"width":80,"height":24}\n'), { noteRoom: 0, closingNote: () => Buffer.alloc(0) });
    recording.write(Buffer.from('[0.1,"o","hello"]\n'));
    await recording.finish();
    id = recording.id;
    tg = await startTestGateway({ PROXMOXVNC_RECORDING_DIR: dir });
    const link = await request(`${tg.origin}/recordings/${id}/link`, { method: 'POST', headers: { authorization: tg.secret } });
    const opened = await redeem(((await link.body.json()) as { url: string }).url);
    cookie = opened.cookie!;
    file = await readFile(join(dir, `${id}.cast`));
  });
  after(async () => {
    await tg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const text = fc
    .array(fc.oneof(fc.constantFrom('..', '.', '%2e%2e', '%2F', '%2f', '/', '//', '%00', '%zz', '%', 'outside', '.json', '.cast', '\\', '?', '#', '%3F'), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF-_'), maxLength: 34 })), { maxLength: 6 })
    .map((parts) => parts.join(''));

  it('never answers with a 5xx and gives a recording only for its id, with the secret or its own cookie', async () => {
    const segment = fc.oneof(text, fc.constant(() => id), fc.constant(() => `${id}/`), fc.constant(() => `../${id}`));
    const visit = fc.record({
      method: fc.constantFrom('GET' as const, 'HEAD' as const, 'DELETE' as const, 'POST' as const),
      start: fc.constantFrom('/recordings/', '/player/', '/play/', '/recordings/%2e%2e/', '/player/../recordings/'),
      segment,
      rest: fc.constantFrom('', '/', '/recording', '/link', '/x'),
      secret: fc.boolean(),
      withCookie: fc.boolean(),
    });
    await fuzz(
      fc.asyncProperty(visit, async (v) => {
        const part = typeof v.segment === 'function' ? v.segment() : v.segment;
        // DELETE and POST only with the secret's routes in mind; never the real recording's DELETE.
        if (v.method === 'DELETE' && part.includes(id)) return;
        const path = `${v.start}${part}${v.rest}`;
        const headers: Record<string, string> = {};
        if (v.secret) headers.authorization = tg.secret;
        if (v.withCookie) headers.cookie = cookie;
        const answer = await request(`${tg.origin}${path}`, { method: v.method, headers });
        const body = Buffer.from(await answer.body.arrayBuffer());
        const shown = `${answer.statusCode} for ${v.method} ${path}`;
        assert.ok(answer.statusCode < 500, shown);
        assert.ok(!body.includes(Buffer.from(OUTSIDE)), `${shown} served a file outside the folder`);
        if (body.includes(Buffer.from('"hello"'))) {
          // As the client sent it: dot segments resolved, as every HTTP client does.
          const sent = new URL(path, tg.origin).pathname;
          const viaApi = v.secret && sent === `/recordings/${id}`;
          const viaPlayer = v.withCookie && sent === `/player/${id}/recording`;
          assert.ok(answer.statusCode === 200 && (viaApi || viaPlayer), `${shown} served the recording`);
          assert.ok(body.equals(file), shown);
        }
      }),
      300,
    );
    assert.ok((await readdir(join(work, 'recordings'))).includes(`${id}.cast`), 'the recording is still there');
  });
});
