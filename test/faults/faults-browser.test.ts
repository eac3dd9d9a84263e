// Issue 9, fault suite in Chromium: what the console page (noVNC, and xterm.js for the text
// console) tells its user when Proxmox cannot be reached, does not answer in time, drops the
// console's websocket, or dies while the console streams; the backend's code for the same in /status, and guest 300's console streaming through
// the same gateway all along. The words are the English catalog's, the outcome table's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { en } from '../../src/console/i18n/en.js';
import { launchChromium } from '../helpers/browser.js';
import { poll } from '../helpers/poll.js';
import { spawnSimulator } from '../helpers/sim-process.js';
import { DESKTOP, pageState, untilConnected } from '../e2e/console-fixture.js';
import { FAULTED_VMID, PROXMOX_TIMEOUT_S, startFaultFixture, type FaultFixture } from './fixture.js';

declare const document: { body: { innerText: string } };

const sessionIdOf = (page: Page) => /\/console\/([^/]+)\//.exec(page.url())![1]!;
const bodyText = (page: Page) => page.evaluate(() => document.body.innerText);

describe('the console page when Proxmox fails', () => {
  let f: FaultFixture;
  let browser: Browser;
  let context: BrowserContext;
  before(async () => {
    f = await startFaultFixture();
    browser = await launchChromium();
    context = await browser.newContext(DESKTOP);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await f?.stop();
  });

  /** A link made while Proxmox is fine (so /create validated it), with the page's websockets counted. */
  const page = async (params: Record<string, unknown> = {}) => {
    const created = await f.create(params);
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const opened = await context.newPage();
    const sockets = { count: 0 };
    opened.on('websocket', () => sockets.count++);
    return { page: opened, url: created.body.url as string, sockets };
  };

  /** The page's final "could not be opened" notice, with its Retry button, and no reconnect loop. */
  const assertUnavailable = async (shown: Page) => {
    await shown.getByText(en['outcome.console_unavailable.title']).waitFor({ timeout: 30_000 });
    const text = await bodyText(shown);
    assert.ok(text.includes(en['outcome.console_unavailable.text']), text);
    assert.ok(!text.includes(en['notice.gave_up.title']), text);
    await shown.getByRole('button', { name: en['action.retry'] }).waitFor();
    assert.equal(await pageState(shown), 'disconnected');
  };

  for (const [name, faults, code, params] of [
    ['unreachable (the API refuses connections)', { unreachable: 'refuse' }, 'proxmox_unreachable', {}],
    ['a timeout (every answer later than proxmox_timeout)', { delayMs: PROXMOX_TIMEOUT_S * 2000 }, 'proxmox_timeout', {}],
    ['a timeout (packets dropped)', { unreachable: 'drop' }, 'proxmox_timeout', {}],
    ['a text console, unreachable', { unreachable: 'refuse' }, 'proxmox_unreachable', { console: 'xterm' }],
    ['a text console, a timeout (packets dropped)', { unreachable: 'drop' }, 'proxmox_timeout', { console: 'xterm' }],
  ] as const) {
    it(`${name}: "${en['outcome.console_unavailable.title']}" with Retry, ${code} in /status; Retry works once Proxmox is back`, async () => {
      f.steady.mark();
      const { page: shown, url } = await page(params);
      f.sim.setFaults(faults);
      try {
        await shown.goto(url);
        await assertUnavailable(shown);
        await f.lastError(sessionIdOf(shown), code);
        await f.assertSteady(`${code}-during`);
      } finally {
        f.sim.setFaults({ unreachable: null, delayMs: 0 });
      }
      await shown.getByRole('button', { name: en['action.retry'] }).click();
      await untilConnected(shown);
      await shown.close();
      await f.assertSteady(`${code}-after`);
    });
  }

  it(`a dropped console websocket: "${en['outcome.network_lost.title']}", the page reconnects by itself, no error for the backend`, async () => {
    f.steady.mark();
    const { page: shown, url, sockets } = await page();
    f.sim.setFaults({ dropWebsocketAfterBytes: 4096 });
    try {
      await shown.goto(url);
      await shown.getByText(en['outcome.network_lost.title']).waitFor({ timeout: 30_000 });
      assert.ok((await bodyText(shown)).includes(en['outcome.network_lost.text']));
      await poll(async () => sockets.count, (n) => n >= 2, 'a reconnect the page made itself');
      const entry = await f.status(sessionIdOf(shown));
      assert.equal(entry?.last_error, null, 'the session lives; Proxmox reported no error');
      await f.assertSteady('drop-during');
    } finally {
      f.sim.setFaults({ dropWebsocketAfterBytes: null });
    }
    // The next reconnect keeps its console: typed keys reach the guest.
    await untilConnected(shown);
    await poll(
      async () => {
        if ((await pageState(shown)) === 'connected') {
          await shown.locator('canvas').first().click();
          await shown.keyboard.type('back');
        }
        return f.sim.received(FAULTED_VMID).text;
      },
      (text) => text.includes('back'),
      'keys at the guest after the drops',
      30_000,
    );
    await shown.close();
    await f.assertSteady('drop-after');
  });

  it(`the simulator killed while the page streams: its own reconnect fails, "${en['outcome.console_unavailable.title']}", proxmox_unreachable in /status`, async () => {
    f.steady.mark();
    const doomed = await spawnSimulator('127.0.0.3');
    try {
      const { page: shown, url, sockets } = await page({ hostname: doomed.host, port: doomed.port, fingerprint: doomed.fingerprint });
      await shown.goto(url);
      await untilConnected(shown);
      await doomed.kill();
      await assertUnavailable(shown);
      assert.ok(sockets.count >= 2, 'the page tried again by itself before it said so');
      await f.lastError(sessionIdOf(shown), 'proxmox_unreachable');
      await shown.close();
    } finally {
      await doomed.kill();
    }
    await f.assertSteady('killed');
  });
});
