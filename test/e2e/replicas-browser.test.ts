// Two gateway processes sharing a real redis-server behind a real nginx (round robin, no
// stickiness), driven by a real Chromium: the console keeps working across reloads that land on
// the other replica, after the replica holding the viewer is SIGKILLed, and an end sent to one
// replica reaches the page wherever it is connected.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { launchChromium, leaks, recordReceived, type Received } from '../helpers/browser.js';
import { freePort } from '../helpers/gateway.js';
import { startNginx, type TestNginx } from '../helpers/nginx.js';
import { poll } from '../helpers/poll.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

interface Replica {
  origin: string;
  child: ChildProcess;
}

describe('replicas behind nginx in a real browser', () => {
  let redis: TestRedis;
  let sim: Simulator;
  let nginx: TestNginx;
  let browser: Browser;
  let workDir: string;
  const secret = randomBytes(32).toString('hex');
  const redisKey = randomBytes(32).toString('hex');
  const replicas: Replica[] = [];
  const received: Received[] = [];

  const startReplica = async (publicUrl: string, caFile: string): Promise<Replica> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/cli.js'], {
      env: {
        PATH: process.env.PATH ?? '',
        PROXMOXVNC_AUTHORIZATION: secret,
        PROXMOXVNC_ROUTER_IP: '127.0.0.1',
        PROXMOXVNC_ROUTER_PORT: String(port),
        PROXMOXVNC_PUBLIC_URL: publicUrl,
        PROXMOXVNC_PROXMOX_CA_FILE: caFile,
        PROXMOXVNC_REDIS_URL: redis.url,
        PROXMOXVNC_REDIS_SECRET_KEY: redisKey,
        PROXMOXVNC_LOGGING_ENABLED: 'false',
      },
      stdio: 'ignore',
    });
    const origin = `http://127.0.0.1:${port}`;
    await poll(() => request(`${origin}/healthz`).then((r) => r.statusCode, () => 0), (s) => s === 200, `replica on ${port}`);
    return { origin, child };
  };

  const status = async (replica: Replica) =>
    (await (await request(`${replica.origin}/status`, { headers: { authorization: secret } })).body.json()) as {
      replica: string;
      sessions: Array<{ session_id: string; replicas: string[] }>;
    };

  const running = (r: Replica) => r.child.exitCode === null && r.child.signalCode === null;

  /** The replica whose process holds the session's viewer now. */
  const holder = async (sessionId: string): Promise<Replica> => {
    const ids = await Promise.all(replicas.map(async (r) => (running(r) ? (await status(r)).replica : null)));
    const live = replicas.find(running)!;
    const entry = await poll(async () => (await status(live)).sessions.find((s) => s.session_id === sessionId), (e) => (e?.replicas.length ?? 0) === 1, 'a viewer in /status');
    return replicas[ids.indexOf(entry!.replicas[0]!)]!;
  };

  before(async () => {
    browser = await launchChromium();
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    workDir = await mkdtemp(join(tmpdir(), 'pvnc-replicas-'));
    const caFile = join(workDir, 'ca.pem');
    await writeFile(caFile, sim.caPem);
    const nginxPort = await freePort();
    const publicUrl = `http://127.0.0.1:${nginxPort}`;
    replicas.push(await startReplica(publicUrl, caFile), await startReplica(publicUrl, caFile));
    nginx = await startNginx(replicas.map((r) => r.origin), nginxPort);
  });
  after(async () => {
    await browser?.close();
    await nginx?.stop();
    for (const replica of replicas) if (running(replica)) replica.child.kill('SIGKILL');
    await sim?.stop();
    await redis?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const typeAndSee = async (page: Page, text: string) => {
    await page.locator('canvas').first().click();
    await page.keyboard.type(text);
    await poll(async () => sim.received(100).text, (t) => t.includes(text), `"${text}" at the guest`, 15_000);
  };

  it('keeps the console across a reload, a SIGKILL of its replica and ends it from the other', { timeout: 120_000 }, async () => {
    const created = await request(`${replicas[0]!.origin}/create`, {
      method: 'POST',
      headers: { authorization: secret, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: '127.0.0.2', port: sim.port, node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: 100 }),
    });
    const { url } = (await created.body.json()) as { url: string };
    assert.ok(url.startsWith(nginx.origin), url);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    received.push(recordReceived(page));
    await page.goto(url);
    const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
    await typeAndSee(page, 'first');

    // nginx alternates replicas per request, and a page load makes several: reload until the
    // console's websocket has landed on each of them.
    const served = new Set([(await holder(sessionId)).origin]);
    for (let i = 0; i < 8 && served.size < 2; i++) {
      await page.reload();
      await typeAndSee(page, `reload${i}`);
      served.add((await holder(sessionId)).origin);
    }
    assert.equal(served.size, 2, 'both replicas served the console');

    const doomed = await holder(sessionId);
    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');
    // The page reconnects by itself, through nginx, to the replica left.
    await typeAndSee(page, 'after the kill');
    const survivor = replicas.find((r) => r !== doomed)!;
    assert.equal((await holder(sessionId)).origin, survivor.origin);

    const ended = await request(`${survivor.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    await page.getByText('This console session has ended.').waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('sends nothing that identifies or unlocks Proxmox to the browser (invariant 1)', () => {
    const needles = ['127.0.0.2', 'pve1', 'vncuser', 'vncpass', redisKey, secret, ...sim.issuedSecrets()];
    assert.ok(received.every((r) => r.frames.length > 0));
    for (const r of received) assert.deepEqual(leaks(r, needles, [sim.port, redis.port]), []);
  });
});
