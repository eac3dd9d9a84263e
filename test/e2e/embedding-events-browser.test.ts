// A panel framing the console: over HTTPS the framed page posts connected, title, disconnected and
// ended (with its outcome) to the panel's origin; over plain HTTP the gateway warns at start and
// the framed page says why it cannot connect.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { Agent, request } from 'undici';
import { en } from '../../src/console/i18n/en.js';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { generateClusterTls } from '../../sim/tls.js';
import { launchChromium } from '../helpers/browser.js';
import { createToken, freePort, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';

declare const window: { panelEvents: Array<{ origin: string; data: unknown }> };
declare const document: { body: { innerText: string } };

/** A panel page on 127.0.0.1 that frames `?src=` and records every message it gets. */
async function startPanel(): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Panel</title><script>
window.panelEvents = [];
addEventListener('message', (e) => window.panelEvents.push({ origin: e.origin, data: e.data }));
</script><iframe src="${src.replace(/"/g, '&quot;')}" width="900" height="600"></iframe>`);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${port}`, server };
}

const consoleFrame = (page: Page): Promise<Frame> =>
  poll(async () => page.frames().find((f) => /\/console\/[^/]+\/$/.test(f.url())) ?? null, (f) => f !== null, 'the console frame').then((f) => f!);

describe('a console framed by a panel', () => {
  let browser: Browser;
  let sim: Simulator;
  let panel: Awaited<ReturnType<typeof startPanel>>;
  let secure: TestGateway;
  let plain: TestGateway;
  let workDir: string;

  before(async () => {
    browser = await launchChromium();
    sim = await startSimulator({ host: '127.0.0.2', port: 0 });
    panel = await startPanel();
    workDir = await mkdtemp(join(tmpdir(), 'pvnc-embed-events-'));
    const tls = await generateClusterTls('localhost', 'gateway');
    await writeFile(join(workDir, 'cert.pem'), tls.certPem);
    await writeFile(join(workDir, 'key.pem'), tls.keyPem);
    // The gateways' site is "localhost", the panel's "127.0.0.1": framing is cross-site.
    const common = { PROXMOXVNC_PUBLIC_HOST: 'localhost', PROXMOXVNC_FRAME_ANCESTORS: panel.origin };
    secure = await startTestGateway({ ...common, PROXMOXVNC_TLS_CERT_FILE: join(workDir, 'cert.pem'), PROXMOXVNC_TLS_KEY_FILE: join(workDir, 'key.pem') }, sim.caPem);
    secure.dispatcher = new Agent({ connect: { ca: tls.caPem } });
    plain = await startTestGateway(common, sim.caPem);
  });
  after(async () => {
    await browser?.close();
    await secure?.dispatcher?.close();
    for (const tg of [secure, plain]) await tg?.stop();
    await sim?.stop();
    panel?.server.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const link = async (tg: TestGateway): Promise<string> => {
    const created = await createToken(tg, { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass', title: 'web01' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    return created.body.url as string;
  };

  it('over HTTPS the panel receives connected, title, disconnected and ended, from the gateway origin only', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`${panel.origin}/?src=${encodeURIComponent(await link(secure))}`);
    const frame = await consoleFrame(page);
    await frame.locator('body[data-state="connected"]').waitFor({ timeout: 20_000 });
    const events = () => page.evaluate(() => window.panelEvents);
    await poll(events, (e) => e.some((m) => (m.data as { event?: string }).event === 'connected'), 'the connected event');
    const sessionId = /\/console\/([^/]+)\//.exec(frame.url())![1]!;
    const ended = await request(`${secure.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: secure.secret }, dispatcher: secure.dispatcher });
    await ended.body.dump();
    const received = await poll(events, (e) => e.some((m) => (m.data as { event?: string }).event === 'ended'), 'the ended event');
    assert.ok(received.every((m) => m.origin === secure.origin), JSON.stringify(received));
    assert.deepEqual(
      received.map((m) => m.data),
      [
        { source: 'proxmoxvnc', event: 'title', title: 'web01' },
        { source: 'proxmoxvnc', event: 'connected' },
        { source: 'proxmoxvnc', event: 'disconnected' },
        { source: 'proxmoxvnc', event: 'ended', outcome: 'session_ended' },
      ],
    );
    await context.close();
  });

  it('over plain HTTP the gateway warned at start, and the framed page says why it cannot connect', async () => {
    assert.ok(plain.logs.some((line) => /WARN/.test(line) && /frame_ancestors is set but the public origin is not https/.test(line)), 'the start-up warning');
    assert.ok(!secure.logs.some((line) => /frame_ancestors is set but the public origin is not https/.test(line)), 'no warning over HTTPS');
    const page = await browser.newPage();
    await page.goto(`${panel.origin}/?src=${encodeURIComponent(await link(plain))}`);
    const frame = await consoleFrame(page);
    await poll(() => frame.evaluate(() => document.body.innerText), (text) => text.includes(en['outcome.frame_insecure.title']), 'the message in the frame');
    assert.ok((await frame.evaluate(() => document.body.innerText)).includes(en['outcome.frame_insecure.text']));
    await page.close();
  });
});
