// Two gateway processes sharing a real redis-server behind a real nginx (round robin, no
// stickiness), driven by a real Chromium: an end sent to one replica closes a viewer held by the
// other, the viewer limit counts the viewers of both, a Redis dump opens nothing, a Redis outage
// is a 503 that leaves the open console relaying and heals without a restart, and the console
// keeps working across reloads that land on the other replica and after the replica holding the
// viewer is SIGKILLed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { launchChromium, leaks, recordReceived, type Received } from '../helpers/browser.js';
import { freePort } from '../helpers/gateway.js';
import { listeningPort, spawnGateway } from '../helpers/gateway-process.js';
import { startNginx, type TestNginx } from '../helpers/nginx.js';
import { poll } from '../helpers/poll.js';
import { dumpRedis } from '../helpers/redis-dump.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

interface Replica {
  origin: string;
  child: ChildProcess;
  /** Its name among the replicas (/status `replica`, and `replicas` of each session). */
  id: string;
  /** Its log (JSON lines on stdout) and stderr, as written so far. */
  readonly stdout: string;
  readonly stderr: string;
}

interface LogLine {
  msg?: string;
  session?: string;
  reason?: string;
}

interface StatusEntry {
  session_id: string;
  viewers: number;
  replicas: string[];
  status: string;
}

/** What each console websocket a page opened became: the page's own WebSocket, watched. */
interface SocketRecord {
  url: string;
  opened: boolean;
  closed: { code: number; reason: string } | null;
}

const SESSION_COOKIE = 'pvnc_session';
const ENDED = 'This console session has ended.';
/** The simulator's API token for vncuser@pve (sim/inventory.ts). */
const API_TOKEN = 'vncuser@pve!console=11111111-2222-3333-4444-555555555555';
const API_TOKEN_SECRET = '11111111-2222-3333-4444-555555555555';
/** Viewers a session may have, cluster-wide: one per replica in the limit test. */
const MAX_VIEWERS = 2;

// Runs in every page before its scripts: records each websocket's open and close (code, reason),
// which Playwright's WebSocket events do not carry. noVNC checks a socket's prototype for
// WebSocket's methods, so the page still gets native sockets (a subclass fails that check).
const WATCH_SOCKETS = `(() => {
  const Native = window.WebSocket;
  const records = [];
  Object.defineProperty(window, '__sockets', { value: records });
  function WatchedWebSocket(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    const record = { url: String(url), opened: false, closed: null };
    records.push(record);
    socket.addEventListener('open', () => { record.opened = true; });
    socket.addEventListener('close', (event) => { record.closed = { code: event.code, reason: event.reason }; });
    return socket;
  }
  WatchedWebSocket.prototype = Native.prototype;
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) WatchedWebSocket[name] = Native[name];
  window.WebSocket = WatchedWebSocket;
})();`;

describe('replicas behind nginx in a real browser', () => {
  let redis: TestRedis;
  let sim: Simulator;
  let nginx: TestNginx;
  let browser: Browser;
  let workDir: string;
  const secret = randomBytes(32).toString('hex');
  const redisKey = randomBytes(32).toString('hex');
  const replicas: Replica[] = [];
  /** Pages that got a console; `refusedPages` never did, so received no frame. */
  const received: Received[] = [];
  const refusedPages: Received[] = [];
  /** Every console token and session cookie handed out, for the Redis and log scans. */
  const tokens: string[] = [];
  const cookies: string[] = [];
  const contexts: BrowserContext[] = [];

  const startReplica = async (publicUrl: string, caFile: string): Promise<Replica> => {
    const run = spawnGateway([], {
      PROXMOXVNC_AUTHORIZATION: secret,
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PUBLIC_URL: publicUrl,
      PROXMOXVNC_PROXMOX_CA_FILE: caFile,
      PROXMOXVNC_REDIS_URL: redis.url,
      PROXMOXVNC_REDIS_SECRET_KEY: redisKey,
      PROXMOXVNC_MAX_VIEWERS_PER_SESSION: String(MAX_VIEWERS),
      PROXMOXVNC_LOG_FORMAT: 'json',
    });
    const port = await listeningPort(run);
    const replica: Replica = {
      origin: `http://127.0.0.1:${port}`,
      child: run.child,
      id: '',
      get stdout() {
        return run.stdout.join('');
      },
      get stderr() {
        return run.stderr.join('');
      },
    };
    await poll(() => request(`${replica.origin}/healthz`).then((r) => (r.body.dump(), r.statusCode), () => 0), (s) => s === 200, `replica on ${port}`);
    replica.id = (await status(replica)).replica;
    return replica;
  };

  const status = async (replica: Replica) =>
    (await (await request(`${replica.origin}/status`, { headers: { authorization: secret } })).body.json()) as {
      replica: string;
      sessions: StatusEntry[];
    };

  const running = (r: Replica) => r.child.exitCode === null && r.child.signalCode === null;
  const logLines = (r: Replica): LogLine[] =>
    r.stdout.split('\n').flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as LogLine] : [];
      } catch {
        return [];
      }
    });

  /** Waits for `replica` to log that it heard of the end the backend asked for (pub/sub). */
  const heardEnd = (replica: Replica, sessionId: string) =>
    poll(
      async () => logLines(replica).some((l) => l.msg === 'session ended' && l.session === sessionId && l.reason === 'ended by the backend'),
      Boolean,
      `${replica.origin} hearing of the end of ${sessionId} through Redis`,
      3_000,
    );

  /** The session as /status on a live replica shows it, once `ok` holds. */
  const entry = (sessionId: string, ok: (e: StatusEntry | undefined) => boolean, what: string) =>
    poll(async () => (await status(replicas.find(running)!)).sessions.find((s) => s.session_id === sessionId), ok, what);

  /** The replica whose process holds the session's one viewer now. */
  const holder = async (sessionId: string): Promise<Replica> => {
    const found = await entry(sessionId, (e) => e?.viewers === 1 && e.replicas.length === 1, 'one viewer in /status');
    return replicas.find((r) => r.id === found!.replicas[0])!;
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
    replicas.push(...(await Promise.all([startReplica(publicUrl, caFile), startReplica(publicUrl, caFile)])));
    nginx = await startNginx(replicas.map((r) => r.origin), nginxPort);
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await nginx?.stop();
    for (const replica of replicas) if (running(replica)) replica.child.kill('SIGKILL');
    await sim?.stop();
    await redis?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const create = (replica: Replica, params: Record<string, unknown> = {}) =>
    request(`${replica.origin}/create`, {
      method: 'POST',
      headers: { authorization: secret, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: '127.0.0.2', port: sim.port, node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: 100, ...params }),
    });

  /** A link made on `replica`; its token is remembered for the scans. */
  const link = async (replica: Replica, params: Record<string, unknown> = {}) => {
    const created = await create(replica, params);
    const body = (await created.body.json()) as { url: string; token: string };
    assert.equal(created.statusCode, 200, JSON.stringify(body));
    assert.ok(body.url.startsWith(nginx.origin), body.url);
    tokens.push(body.token);
    return body;
  };

  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: WATCH_SOCKETS });
    contexts.push(context);
    return context;
  };

  // Functions, not strings: the console page's CSP forbids eval.
  const sockets = (page: Page) => page.evaluate(() => (globalThis as unknown as { __sockets: SocketRecord[] }).__sockets);
  const pageState = (page: Page) => page.locator('body').getAttribute('data-state');

  /**
   * Types into the console once the page says it is connected and waits for the text at the
   * guest; types again if it never arrived (keys typed while a dropped connection had not been
   * noticed yet are lost, as they would be for a person).
   */
  const typeAndSee = async (page: Page, text: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await page.locator('body[data-state="connected"]').waitFor({ state: 'attached', timeout: Math.max(1, deadline - Date.now()) });
      await page.locator('canvas').first().click();
      await page.keyboard.type(text);
      try {
        await poll(async () => sim.received(100).text, (t) => t.includes(text), `"${text}" at the guest`, Math.min(5_000, Math.max(1, deadline - Date.now())));
        return;
      } catch (error) {
        if (Date.now() >= deadline) throw error;
      }
    }
  };

  /** Opens `url` (a link or a console page) in a new tab of `context` and waits for a working console. */
  const openConsole = async (context: BrowserContext, url: string, text: string) => {
    const page = await context.newPage();
    received.push(recordReceived(page));
    await page.goto(url);
    const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
    await typeAndSee(page, text);
    for (const cookie of await context.cookies()) if (cookie.name === SESSION_COOKIE && !cookies.includes(cookie.value)) cookies.push(cookie.value);
    return { page, sessionId };
  };

  /** One request through nginx, which sends each request to the next replica (one worker, round robin). */
  const nudge = async () => (await request(`${nginx.origin}/healthz`)).body.dump();

  it('ends a viewer held by one replica when the other is told to end its session', { timeout: 60_000 }, async () => {
    const { url } = await link(replicas[0]!);
    const { page, sessionId } = await openConsole(await newContext(), url, 'to be ended');
    const held = await holder(sessionId);
    const other = replicas.find((r) => r !== held)!;

    const ended = await request(`${other.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    await page.getByText(ENDED).waitFor({ timeout: 15_000 });
    const closes = (await sockets(page)).map((s) => s.closed?.code);
    assert.deepEqual(closes, [4000], 'the one websocket was closed as "session ended"');
    // The holder heard the end from the other replica (pub/sub) and closed its viewer for it,
    // rather than noticing later that the session was gone.
    await heardEnd(held, sessionId);
    for (const replica of replicas) assert.equal((await status(replica)).sessions.find((s) => s.session_id === sessionId), undefined);
    await page.close();
  });

  it('counts the viewers on both replicas against max_viewers_per_session', { timeout: 90_000 }, async () => {
    const context = await newContext();
    const { url } = await link(replicas[1]!);
    const first = await openConsole(context, url, 'tab one');
    const sessionId = first.sessionId;
    const consolePage = first.page.url();
    await holder(sessionId);

    // A second tab until its websocket lands on the other replica: then each holds one viewer.
    let second: Page | undefined;
    for (let i = 0; i < 10 && !second; i++) {
      const { page } = await openConsole(context, consolePage, `tab two ${i}`);
      const both = await entry(sessionId, (e) => e?.viewers === 2, 'two viewers in /status');
      if (both!.replicas.length === 2) {
        second = page;
        break;
      }
      await page.close();
      await entry(sessionId, (e) => e?.viewers === 1, 'the extra tab gone');
      // Where the tab's websocket lands depends on how many requests its load made (an odd
      // count keeps one nudge from changing it): nudge once, then twice, in turn.
      for (let n = 0; n <= i % 2; n++) await nudge();
    }
    assert.ok(second, 'a second tab landed on the other replica');
    assert.deepEqual(new Set((await entry(sessionId, (e) => e?.viewers === 2, 'two viewers'))!.replicas), new Set(replicas.map((r) => r.id)));

    // A third tab: wherever it lands, that replica holds only one viewer itself, so only a
    // cluster-wide count refuses it.
    const third = await context.newPage();
    refusedPages.push(recordReceived(third));
    await third.goto(consolePage);
    const refusal = await poll(() => sockets(third), (s) => s[0]?.closed !== null && s[0] !== undefined, "the third tab's websocket closed", 15_000);
    assert.deepEqual(refusal[0], { url: refusal[0]!.url, opened: true, closed: { code: 4001, reason: 'too many viewers' } });
    assert.notEqual(await pageState(third), 'connected');
    // What the page shows: the refusal's own words, as a final state: no reconnect attempt.
    await third.getByText('This console is open in too many windows').waitFor({ timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal((await sockets(third)).length, 1, 'the refused tab did not try again');
    assert.equal((await entry(sessionId, (e) => e !== undefined, 'the session'))!.viewers, 2, 'the refused tab was never counted');
    // The two that got in keep working.
    await typeAndSee(first.page, 'tab one still');
    await typeAndSee(second!, 'tab two still');
    await third.close();

    // Once the first tab is closed, and its leave recorded, a new tab gets in.
    await first.page.close();
    await entry(sessionId, (e) => e?.viewers === 1, "the first tab's leave");
    const fourth = await openConsole(context, consolePage, 'tab four');
    assert.equal((await entry(sessionId, (e) => e?.viewers === 2, 'two viewers again'))!.viewers, 2);
    await fourth.page.close();
    await second!.close();
    await entry(sessionId, (e) => e?.viewers === 0, 'no viewer left');
  });

  it('keeps nothing in Redis that opens a console or Proxmox while one is open, and every key has a TTL (invariants 1 and 8)', { timeout: 60_000 }, async () => {
    const { url } = await link(replicas[0]!);
    const { page } = await openConsole(await newContext(), url, 'dump me');
    // Besides the open console (its Proxmox ticket held): an unused password link kept without
    // validation (so its password is stored), an unused API-token link, and a redeemed API-token
    // session without a viewer.
    await link(replicas[1]!, { validate: false, vmid: 300, node: 'pve2' });
    const apiParams = { username: undefined, password: undefined, api_token: API_TOKEN };
    await link(replicas[0]!, apiParams);
    const redeemed = await request((await link(replicas[1]!, apiParams)).url);
    assert.equal(redeemed.statusCode, 302);
    await redeemed.body.dump();
    const setCookie = redeemed.headers['set-cookie'];
    cookies.push(/pvnc_session=([^;]+)/.exec(Array.isArray(setCookie) ? setCookie.join('\n') : String(setCookie))![1]!);

    const { keys, text } = await dumpRedis(redis.url);
    assert.ok(keys.some((k) => /session:\{/.test(k.key)), `a session key among ${keys.map((k) => k.key).join(', ')}`);
    assert.ok(keys.some((k) => /\{tokens\}:t:/.test(k.key)), 'a pending token key');
    const needles = ['vncpass', API_TOKEN_SECRET, secret, redisKey, Buffer.from(redisKey, 'hex').toString('latin1'), ...sim.issuedSecrets(), ...tokens, ...cookies];
    assert.ok(sim.issuedSecrets().length > 0 && cookies.length >= 2 && tokens.length >= 4);
    assert.deepEqual(needles.filter((needle) => text.includes(needle)), [], 'secrets in clear in the Redis dump');
    // -1: no TTL (-2 would be a key that expired while the scan ran, e.g. a released lock).
    assert.deepEqual(keys.filter((k) => k.pttl === -1), [], 'keys without a TTL');
    await page.close();
  });

  /** The console left open across the Redis restart, whose record the restart lost. */
  let forgotten: { page: Page; sessionId: string } | undefined;

  it('answers 503 while Redis is down, keeps the open console relaying, and recovers without a restart', { timeout: 90_000 }, async () => {
    const { url } = await link(replicas[0]!);
    const open = await openConsole(await newContext(), url, 'before the outage');
    await redis.kill();
    try {
      for (const replica of replicas) {
        const health = await poll(
          () => request(`${replica.origin}/healthz`).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { reason?: string } })),
          (h) => h.status === 503,
          `${replica.origin} not ready without Redis`,
          10_000,
        );
        assert.match(String(health.body.reason), /Redis/);
        const created = await create(replica);
        assert.equal(created.statusCode, 503);
        assert.equal(((await created.body.json()) as { error: string }).error, 'store_unavailable');
        assert.ok(Number(created.headers['retry-after']) > 0, `Retry-After: ${created.headers['retry-after']}`);
      }
      await typeAndSee(open.page, 'while redis is down', 10_000);
      assert.deepEqual((await sockets(open.page)).map((s) => s.closed), [null], 'the console never dropped');
    } finally {
      await redis.restart();
    }
    forgotten = open;
    for (const replica of replicas) {
      await poll(() => request(`${replica.origin}/healthz`).then((r) => (r.body.dump(), r.statusCode)), (s) => s === 200, `${replica.origin} ready again`, 15_000);
    }

    // A new link works, its console opens through nginx, and each replica hears again of the
    // ends the other announces (Redis lost their subscriptions with the restart).
    const again = await poll(
      () => create(replicas[1]!).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { url: string; token: string } })),
      (c) => c.status === 200,
      'a link once Redis is back',
      15_000,
    );
    tokens.push(again.body.token);
    const fresh = await openConsole(await newContext(), again.body.url, 'after the outage');
    const held = await holder(fresh.sessionId);
    const other = replicas.find((r) => r !== held)!;
    const ended = await request(`${other.origin}/sessions/${fresh.sessionId}`, { method: 'DELETE', headers: { authorization: secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    await fresh.page.getByText(ENDED).waitFor({ timeout: 15_000 });
    await heardEnd(held, fresh.sessionId);
    await fresh.page.close();
  });

  it('does not leave the console whose record the Redis restart lost running unseen', { timeout: 30_000 }, async () => {
    // This Redis keeps nothing on disk (as a cache-only deployment), so it came back empty. A
    // console the cluster no longer knows must not go on past every limit and out of the
    // backend's reach: either it ends (and the page says so), or /status still lists it and a
    // DELETE ends it.
    assert.ok(forgotten, 'the outage test left a console open');
    const { page, sessionId } = forgotten;
    const fate = await poll(
      async () => {
        if (await page.getByText(ENDED).isVisible()) return 'ended';
        const listed = (await Promise.all(replicas.map(status))).some((s) => s.sessions.some((e) => e.session_id === sessionId));
        return listed ? 'listed' : null;
      },
      (f) => f !== null,
      'the console Redis forgot to end or to be listed in /status (it relays on, unknown to /status and to DELETE)',
      15_000,
    );
    if (fate === 'listed') {
      const ended = await request(`${replicas[1]!.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: secret } });
      assert.equal(ended.statusCode, 200);
      await ended.body.dump();
      await page.getByText(ENDED).waitFor({ timeout: 15_000 });
    }
    await page.close();
  });

  it('keeps the console across a reload, a SIGKILL of its replica and ends it from the other', { timeout: 120_000 }, async () => {
    const { url } = await link(replicas[0]!);
    const context = await newContext();
    const { page, sessionId } = await openConsole(context, url, 'first');

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
    await page.getByText(ENDED).waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('sends nothing that identifies or unlocks Proxmox to the browser (invariant 1)', () => {
    const needles = ['127.0.0.2', 'pve1', 'vncuser', 'vncpass', API_TOKEN_SECRET, redisKey, secret, ...sim.issuedSecrets()];
    assert.ok(received.length > 0 && received.every((r) => r.frames.length > 0));
    for (const r of [...received, ...refusedPages]) assert.deepEqual(leaks(r, needles, [sim.port, redis.port]), []);
  });

  it('logs no password, ticket, API-token secret, cookie or whole token on either replica (invariant 8)', () => {
    const needles = ['vncpass', API_TOKEN_SECRET, secret, redisKey, ...sim.issuedSecrets(), ...tokens, ...cookies];
    for (const replica of replicas) {
      assert.ok(logLines(replica).length > 0, 'the replica logged');
      const log = replica.stdout + replica.stderr;
      assert.deepEqual(needles.filter((needle) => log.includes(needle)), [], `secrets in the log of ${replica.origin}`);
    }
  });
});
