// Recordings through a gateway and the simulator's builtin console: `record` needs recording_dir,
// each viewer connection is one 0600 file from the ServerInit on (never the handshake, no Proxmox
// secret), the size cap stops it with a note, and the control API lists, serves, deletes and links
// them by ids that name nothing else.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { parseVncRecording, VncRecordType } from '../../src/recordings/vnc-format.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { keysTyped } from '../helpers/recordings.js';
import type { RfbTestClient } from '../helpers/rfb-client.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

interface Listed {
  id: string;
  kind: string;
  session_id: string;
  tag: string | null;
  vmid: number;
  started_at: string;
  ended_at?: string;
  duration: number;
  size: number;
  stopped?: string;
}

async function control(tg: TestGateway, method: 'GET' | 'POST' | 'DELETE', path: string): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  const answer = await request(`${tg.origin}${path}`, { method, headers: { authorization: tg.secret } });
  return { status: answer.statusCode, headers: answer.headers, body: Buffer.from(await answer.body.arrayBuffer()) };
}

async function listed(tg: TestGateway): Promise<Listed[]> {
  const answer = await control(tg, 'GET', '/recordings');
  assert.equal(answer.status, 200, answer.body.toString());
  return (JSON.parse(answer.body.toString()) as { recordings: Listed[] }).recordings;
}

/** Opens the console of `link`, sees its first screen and types `text`; returns the session id. */
async function watchAndType(tg: TestGateway, link: string, text: string): Promise<{ sessionId: string; client: RfbTestClient; ws: WebSocket; received: Buffer[] }> {
  const redeemed = await redeem(link);
  assert.equal(redeemed.statusCode, 302, redeemed.body);
  const sessionId = /\/console\/([^/]+)\//.exec(redeemed.location ?? '')?.[1] as string;
  const { client, ws } = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: tg.origin, cookie: redeemed.cookie as string });
  assert.ok(client && ws, 'the console websocket opened');
  // Every byte the gateway sent this browser, handshake included.
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
  await client.handshake({});
  await client.readWholeScreen();
  client.typeText(text);
  client.requestUpdate(true, 0, 0, client.width, client.height);
  await client.readFramebufferUpdate();
  return { sessionId, client, ws, received };
}

describe('recordings through the gateway', { timeout: 60_000 }, () => {
  let dir: string;
  const fx = useSimAndGateway(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'pvnc-rec-')), 'recordings');
    return { PROXMOXVNC_RECORDING_DIR: dir };
  }, { backend: 'builtin' });
  /** A second gateway, without recording_dir. */
  let plain: TestGateway;
  before(async () => {
    plain = await startTestGateway({}, fx.sim.caPem);
  });
  after(async () => {
    await plain?.stop();
    if (dir) await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('refuses record without recording_dir, naming the field and the setting', async () => {
    const created = await createToken(plain, { ...fx.params, record: true });
    assert.equal(created.statusCode, 400);
    assert.equal(created.body.error, 'invalid_params');
    assert.match(String((created.body.fields as Record<string, string>).record), /recording_dir/);
    assert.equal((await control(plain, 'GET', '/recordings')).status, 404);
    // Without record nothing is written, with recording_dir or without.
    assert.equal((await createToken(plain, { ...fx.params, record: false })).statusCode, 200);
  });

  it('refuses to start with a recording_dir it cannot use, naming it', async () => {
    const file = join(dir, '..', 'a-file');
    await writeFile(file, '');
    await assert.rejects(startTestGateway({ PROXMOXVNC_RECORDING_DIR: join(file, 'recordings') }, fx.sim.caPem), /recording_dir .*a-file\/recordings cannot be used/);
  });

  it('records a viewer connection from the ServerInit on into a 0600 file, with the tag and no Proxmox secret', async () => {
    const created = await createToken(fx.tg, { ...fx.params, record: true, tag: 'customer-42' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const { sessionId, client, ws, received } = await watchAndType(fx.tg, created.body.url as string, 'recorded');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    // Written as the session goes: the bytes are on disk within a second or so, before the end.
    const during = await poll(() => listed(fx.tg), (list) => list.some((r) => r.session_id === sessionId && r.size > 100_000), 'the recording on disk while the viewer watches');
    const recording = during.find((r) => r.session_id === sessionId) as Listed;
    const status = JSON.parse((await control(fx.tg, 'GET', '/status')).body.toString()) as { sessions: { session_id: string; recorded: boolean }[] };
    assert.equal(status.sessions.find((s) => s.session_id === sessionId)?.recorded, true, '/status says the session is recorded');
    assert.equal(recording.ended_at, undefined);
    ws.close();
    await client.closed;
    const [done] = await poll(() => listed(fx.tg), (list) => list.some((r) => r.id === recording.id && r.ended_at !== undefined), 'the finished recording');
    assert.ok(done);
    assert.deepEqual({ kind: done.kind, tag: done.tag, vmid: done.vmid, session_id: done.session_id }, { kind: 'vnc', tag: 'customer-42', vmid: 100, session_id: sessionId });
    assert.ok(done.duration > 0 && done.stopped === undefined);

    const files = await readdir(dir);
    assert.deepEqual(files.sort(), [`${done.id}.json`, `${done.id}.pvncrec`]);
    for (const file of files) assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file);
    const bytes = await readFile(join(dir, `${done.id}.pvncrec`));
    assert.equal(done.size, bytes.length);
    const parsed = parseVncRecording(bytes);
    // The ServerInit as the browser got it: 800x600 and the session's title (the guest's name).
    assert.equal(parsed.serverInit.readUInt16BE(0), 800);
    assert.equal(parsed.serverInit.readUInt16BE(2), 600);
    assert.equal(parsed.serverInit.subarray(24).toString(), 'web01');
    // What the browser got after its ServerInit, byte for byte (the handshake before it is short:
    // the version may have come before the test listened).
    const toBrowser = Buffer.concat(parsed.records.filter((r) => r.type === VncRecordType.ToBrowser).map((r) => r.payload));
    const sent = Buffer.concat(received);
    const initAt = sent.indexOf(parsed.serverInit);
    assert.ok(initAt >= 0 && initAt <= 18, `the recorded ServerInit is the one sent (at ${initAt})`);
    assert.ok(toBrowser.length > 1_000_000, 'a whole screen at least');
    assert.ok(toBrowser.equals(sent.subarray(initAt + parsed.serverInit.length)), 'the recorded server stream is what the browser got');
    // The browser's input as forwarded: "recorded" typed as key events.
    assert.equal(keysTyped(bytes), 'recorded');
    // Times never go back.
    assert.ok(parsed.records.every((r, i) => i === 0 || r.ms >= parsed.records[i - 1]!.ms));

    const secrets = [...fx.sim.issuedSecrets(), 'vncpass', 'RFB 003.008'];
    assert.ok(fx.sim.issuedSecrets().length >= 2, 'the simulator issued a ticket and a VNC password');
    for (const file of files) {
      const content = await readFile(join(dir, file));
      for (const secret of secrets) assert.ok(!content.includes(Buffer.from(secret, 'latin1')), `${file} holds ${secret.slice(0, 8)}…`);
    }

    // The file as the API serves it, then gone.
    const served = await control(fx.tg, 'GET', `/recordings/${done.id}`);
    assert.equal(served.status, 200);
    assert.ok(served.body.equals(bytes));
    assert.match(String(served.headers['content-disposition']), new RegExp(`${done.id}\\.pvncrec`));
    assert.equal((await control(fx.tg, 'DELETE', `/recordings/${done.id}`)).status, 200);
    assert.equal((await control(fx.tg, 'GET', `/recordings/${done.id}`)).status, 404);
    assert.equal((await control(fx.tg, 'DELETE', `/recordings/${done.id}`)).status, 404);
    assert.deepEqual(await readdir(dir), []);
  });

  it('needs the control secret and takes no name but a recording id', async () => {
    const outside = join(dir, '..', 'outside.json');
    await writeFile(outside, '{"id":"x","kind":"vnc"}');
    const noSecret = await request(`${fx.tg.origin}/recordings`);
    assert.equal(noSecret.statusCode, 401);
    await noSecret.body.dump();
    for (const id of ['..%2Foutside', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2foutside', 'ABCDEF0123456789abcdef0123456789', '0123456789abcdef0123456789abcde', `${'a'.repeat(32)}.json`, 'outside']) {
      for (const method of ['GET', 'DELETE'] as const) {
        const answer = await control(fx.tg, method, `/recordings/${id}`);
        assert.ok(answer.status === 404 || answer.status === 400, `${method} ${id}: ${answer.status}`);
        assert.ok(!answer.body.toString().includes('"kind":"vnc"'), `${method} ${id} served a file`);
      }
      assert.ok([400, 404].includes((await control(fx.tg, 'POST', `/recordings/${id}/link`)).status), id);
    }
    assert.equal((await control(fx.tg, 'GET', '/recordings/..%2F..%2Fetc%2Fpasswd')).body.includes(Buffer.from('root:')), false);
    assert.ok((await stat(outside)).isFile(), 'nothing outside the folder was deleted');
  });

  it('hands out a one-time player link: redeemed once for a cookie of that recording only', async () => {
    const created = await createToken(fx.tg, { ...fx.params, record: true });
    const { sessionId, client, ws } = await watchAndType(fx.tg, created.body.url as string, 'x');
    ws.close();
    await client.closed;
    const [recording] = await poll(() => listed(fx.tg), (list) => list.some((r) => r.session_id === sessionId && r.ended_at !== undefined), 'the recording');
    const made = await control(fx.tg, 'POST', `/recordings/${recording!.id}/link`);
    assert.equal(made.status, 200, made.body.toString());
    const { url, expires_at } = JSON.parse(made.body.toString()) as { url: string; expires_at: string };
    assert.match(url, new RegExp(`^${fx.tg.origin}/play/[A-Za-z0-9_-]{40,}$`));
    assert.ok(Date.parse(expires_at) > Date.now());

    // HEAD (a link preview) does not use it up.
    const head = await request(url, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    await head.body.dump();
    const opened = await redeem(url);
    assert.equal(opened.statusCode, 302);
    assert.equal(opened.location, `/player/${recording!.id}/`);
    assert.match(opened.setCookie ?? '', /HttpOnly/i);
    assert.match(opened.setCookie ?? '', new RegExp(`Path=/player/${recording!.id}/`));
    assert.equal((await redeem(url)).statusCode, 404, 'a player link works once');

    const get = async (path: string, cookie?: string) => {
      const answer = await request(`${fx.tg.origin}${path}`, { headers: cookie ? { cookie } : {} });
      return { status: answer.statusCode, headers: answer.headers, body: Buffer.from(await answer.body.arrayBuffer()) };
    };
    const page = await get(opened.location as string, opened.cookie);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.match(page.body.toString(), /player\.js/);
    const file = await get(`/player/${recording!.id}/recording`, opened.cookie);
    assert.equal(file.status, 200);
    assert.ok(file.body.equals(await readFile(join(dir, `${recording!.id}.pvncrec`))));
    // Without the cookie, or with it on another recording's path, nothing.
    assert.equal((await get(opened.location as string)).status, 403);
    assert.equal((await get(`/player/${recording!.id}/recording`)).status, 404);
    const other = 'f'.repeat(32);
    assert.equal((await get(`/player/${other}/recording`, opened.cookie)).status, 404);
    const forged = opened.cookie!.replace(/=(\d+)\./, (_m, expires: string) => `=${Number(expires) + 1}.`);
    assert.equal((await get(`/player/${recording!.id}/recording`, forged)).status, 404);
  });

  it('stops a recording at recording_max_bytes and says so in the file and in the listing', async () => {
    const capDir = join(dir, '..', 'capped');
    const capped = await startTestGateway({ PROXMOXVNC_RECORDING_DIR: capDir, PROXMOXVNC_RECORDING_MAX_BYTES: String(256 * 1024) }, fx.sim.caPem);
    try {
      const created = await createToken(capped, { ...fx.params, record: 'true' });
      // One full 800x600 screen at 32 bits is 1.9 MB: well past the cap.
      const { client, ws } = await watchAndType(capped, created.body.url as string, 'abc');
      ws.close();
      await client.closed;
      const [recording] = await poll(() => listed(capped), (list) => list.some((r) => r.ended_at !== undefined), 'the capped recording');
      assert.equal(recording!.stopped, 'size_limit');
      const bytes = await readFile(join(capDir, `${recording!.id}.pvncrec`));
      assert.ok(bytes.length <= 256 * 1024, `${bytes.length} bytes`);
      assert.equal(recording!.size, bytes.length);
      const last = parseVncRecording(bytes).records.at(-1);
      assert.equal(last?.type, VncRecordType.Note);
      assert.match(last!.payload.toString(), /recording_max_bytes/);
    } finally {
      await capped.stop();
    }
  });
});
