// The xterm.js console page in Chromium against the gateway and the simulator's termproxy: typing
// into a VM's serial console and a container's console, window resizes reaching the terminal, the
// page's styles working under its CSP, and nothing of Proxmox reaching the browser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, leaks, recordReceived, type Received } from '../helpers/browser.js';
import { createToken } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';
import { screenRows } from '../helpers/xterm-screen.js';

/** The page's DOM, as far as these in-page callbacks use it (the test program has no DOM types). */
interface PageElement {
  textContent: string | null;
}
declare function getComputedStyle(element: PageElement): { fontFamily: string; color: string };
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};


describe('the xterm.js console in a real browser', () => {
  let browser: Browser;
  const received: Received[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  const fx = useSimAndGateway();

  const openConsole = async (params: Record<string, string>): Promise<Page> => {
    const created = await createToken(fx.tg, {
      hostname: '127.0.0.2',
      port: String(fx.sim.port),
      node: 'pve1',
      console: 'xterm',
      ...params,
    });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    // The dark palette is asserted below; Chromium's own default is light.
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    received.push(recordReceived(page));
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      // xterm.js's style elements carry the answer's nonce (web/term/csp-styles.ts): nothing is refused.
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(created.body.url as string);
    await poll(() => page.evaluate(() => document.body.dataset.state), (state) => state === 'connected', 'the connected state');
    assert.deepEqual(problems, []);
    return page;
  };

  const typeCommand = async (page: Page, answer: string): Promise<void> => {
    await page.locator('.xterm').click();
    await page.keyboard.type('hostname\n');
    const rows = await poll(() => screenRows(page), (r) => r.includes(answer), `"${answer}" on its own row`);
    assert.ok(rows.some((row) => row.endsWith('# hostname')), 'the typed command is echoed');
  };

  it("a VM's serial console runs a typed command", async () => {
    const page = await openConsole({ username: 'vncuser@pve', password: 'vncpass', vmid: '100' });
    await typeCommand(page, 'web01');
    // xterm.js puts the terminal's font and colours in <style> elements of its own: they must apply.
    const style = await page.evaluate(() => {
      const { fontFamily, color } = getComputedStyle(document.querySelector('.xterm-rows')!);
      return { fontFamily, color };
    });
    assert.match(style.fontFamily, /monospace/);
    assert.equal(style.color, 'rgb(230, 232, 235)');
    await page.close();
  });

  it("a container's console runs a typed command", async () => {
    const page = await openConsole({ username: 'vncuser@pve', password: 'vncpass', vmid: '200' });
    await typeCommand(page, 'ct01');
    await page.close();
  });

  it('a window resize reaches the terminal as a termproxy resize', async () => {
    const page = await openConsole({ api_token: 'vncuser@pve!console=11111111-2222-3333-4444-555555555555', vmid: '100' });
    await typeCommand(page, 'web01');
    const before = fx.sim.terminal(100).resizes.length;
    const first = fx.sim.terminal(100).resizes.at(-1)!;
    await page.setViewportSize({ width: 700, height: 420 });
    const resizes = await poll(
      async () => fx.sim.terminal(100).resizes.slice(before),
      (r) => r.some((s) => s.cols < first.cols && s.rows < first.rows),
      'a smaller terminal size at the guest',
    );
    const last = resizes.at(-1)!;
    assert.ok(last.cols >= 40 && last.rows >= 10, JSON.stringify(last));
    await page.close();
  });

  it('sends nothing that identifies or unlocks Proxmox to the browser (invariant 1)', () => {
    const secrets = fx.sim.issuedSecrets();
    assert.ok(secrets.length >= 6, 'the simulator issued tickets and CSRF tokens');
    const needles = ['127.0.0.2', 'pve1', 'vncuser', 'vncpass', '11111111-2222-3333-4444-555555555555', ...secrets];
    assert.ok(received.length === 3 && received.every((r) => r.frames.length > 0), 'every page received websocket frames');
    for (const r of received) assert.deepEqual(leaks(r, needles, [fx.sim.port]), []);
  });
});
