// A hosting panel on one site frames the console served over HTTPS by the gateway on another: the
// session cookie must work inside the cross-site frame, and sites not in frame_ancestors get nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Frame } from 'playwright-core';
import { Agent } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { generateClusterTls } from '../../sim/tls.js';
import { launchChromium } from '../helpers/browser.js';
import { createToken, freePort, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';

/** A panel page framing one console link; its own site is its host (127.0.0.1 or 127.0.0.3). */
async function startPanel(host: string): Promise<{ origin: string; server: Server; framing(url: string): string }> {
  const links = new Map<string, string>();
  const server = createServer((req, res) => {
    const link = links.get(req.url ?? '');
    res.writeHead(link ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(link ? `<!doctype html><title>Panel</title><h1>My VPS</h1><iframe src="${link}" width="900" height="600"></iframe>` : 'not found');
  });
  const port = await freePort(host);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const origin = `http://${host}:${port}`;
  return {
    origin,
    server,
    framing(url) {
      const path = `/vps/${links.size + 1}`;
      links.set(path, url);
      return `${origin}${path}`;
    },
  };
}

describe('the console framed by a panel on another site', () => {
  let browser: Browser;
  let context: BrowserContext;
  let sim: Simulator;
  let tg: TestGateway;
  let panel: Awaited<ReturnType<typeof startPanel>>;
  let otherPanel: Awaited<ReturnType<typeof startPanel>>;
  let workDir: string;

  before(async () => {
    browser = await launchChromium();
    // The gateway's certificate is made for this run; trusting it is all the context skips.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    sim = await startSimulator({ host: '127.0.0.2', port: 0 });
    panel = await startPanel('127.0.0.1');
    otherPanel = await startPanel('127.0.0.3');
    workDir = await mkdtemp(join(tmpdir(), 'pvnc-embed-'));
    const tls = await generateClusterTls('localhost', 'gateway');
    await writeFile(join(workDir, 'cert.pem'), tls.certPem);
    await writeFile(join(workDir, 'key.pem'), tls.keyPem);
    // The gateway's site is "localhost", the panel's "127.0.0.1": framing is cross-site.
    tg = await startTestGateway(
      {
        PROXMOXVNC_PUBLIC_HOST: 'localhost',
        PROXMOXVNC_TLS_CERT_FILE: join(workDir, 'cert.pem'),
        PROXMOXVNC_TLS_KEY_FILE: join(workDir, 'key.pem'),
        PROXMOXVNC_FRAME_ANCESTORS: panel.origin,
      },
      sim.caPem,
    );
    tg.dispatcher = new Agent({ connect: { ca: tls.caPem } });
  });
  after(async () => {
    await browser?.close();
    await tg?.dispatcher?.close();
    await tg?.stop();
    await sim?.stop();
    for (const p of [panel, otherPanel]) p?.server.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const newLink = async (): Promise<string> => {
    const created = await createToken(tg, { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const url = created.body.url as string;
    assert.match(url, /^https:\/\/localhost:\d+\/vnc\//);
    return url;
  };

  it('connects inside the frame with a SameSite=None, Secure, Partitioned cookie, and takes keys', async () => {
    const page = await context.newPage();
    const cookies: string[] = [];
    page.on('response', async (response) => {
      const setCookie = await response.headerValue('set-cookie');
      if (setCookie) cookies.push(setCookie);
    });
    await page.goto(panel.framing(await newLink()));
    const frame: Frame = await poll(
      async () => page.frames().find((f) => /\/console\/[^/]+\/$/.test(f.url())) ?? null,
      (f) => f !== null,
      'the console page inside the frame',
    ).then((f) => f!);
    await frame.locator('.pill[data-state="connected"]').waitFor({ timeout: 15_000 });

    assert.equal(cookies.length, 1, 'one session cookie, set at redemption');
    const attributes = cookies[0]!.split(';').map((a) => a.trim().toLowerCase());
    for (const attribute of ['httponly', 'secure', 'samesite=none', 'partitioned']) assert.ok(attributes.includes(attribute), `${attribute} in ${cookies[0]}`);

    await frame.locator('canvas').click();
    await page.keyboard.type('framed');
    await poll(async () => sim.received(100).text, (text) => text.includes('framed'), 'keys typed in the frame at the guest', 10_000);
    await page.close();
  });

  it('shows nothing in a frame on a site that frame_ancestors does not list', async () => {
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/frame-ancestors/.test(message.text())) blocked.push(message.text());
    });
    await page.goto(otherPanel.framing(await newLink()));
    await poll(async () => blocked.length, (n) => n > 0, "Chromium's report that frame-ancestors refused the page");
    for (const frame of page.frames()) assert.equal(await frame.locator('canvas').count(), 0, `no console in ${frame.url()}`);
    await page.close();
  });
});
