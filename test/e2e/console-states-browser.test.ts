// Every way a console connection can end, met by both console pages in Chromium (desktop and
// phone): each outcome of the shared table shows its own words once, final ones never reconnect,
// a stopped guest is watched until it runs, drops and restarts reconnect. The gateway is the
// page harness here, so each close code and state answer is exact.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { en } from '../../src/console/i18n/en.js';
import { launchChromium } from '../helpers/browser.js';
import { poll } from '../helpers/poll.js';
import { PROFILES } from './console-fixture.js';
import { closeWith, refuseRfb, serveRfb, serveTerminal, startPageHarness, type PageHarness, type SocketScript } from './page-harness.js';

declare const document: {
  body: { dataset: Record<string, string | undefined>; innerText: string };
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};


type Kind = 'novnc' | 'xterm';

const serve = (kind: Kind, then?: Parameters<typeof serveRfb>[0]): SocketScript => (kind === 'novnc' ? serveRfb(then) : serveTerminal(then));
/** How each console refuses when the guest cannot be reached: inside RFB, or the text console's 4002. */
const refuse = (kind: Kind): SocketScript => (kind === 'novnc' ? refuseRfb('The server is not running.') : closeWith(4002, 'The server is not running.'));
const LIVE = { status: 200, body: { state: 'active', title: 'web01' } };
const guest = (condition: string) => ({ status: 200, body: { state: 'active', title: 'web01', guest: condition } });

/** The notice over the screen: its heading, its paragraphs and its buttons. */
function notice(page: Page): Promise<{ heading: string; paragraphs: string[]; buttons: string[] } | null> {
  return page.evaluate(() => {
    const layer = document.querySelector('.notice-layer:not([hidden]) .notice');
    if (!layer) return null;
    const texts = (selector: string) => Array.from(document.querySelectorAll(`.notice-layer:not([hidden]) .notice ${selector}`), (e) => e.textContent ?? '');
    return { heading: texts('h2')[0] ?? '', paragraphs: texts('p'), buttons: texts('button') };
  });
}

const state = (page: Page) => page.evaluate(() => document.body.dataset.state ?? '');

describe('what the console pages say when a connection ends', () => {
  let browser: Browser;
  let harness: PageHarness;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    harness = await startPageHarness();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await harness?.close();
  });

  const open = async (kind: Kind, profile: keyof typeof PROFILES, scripts: SocketScript[], answer: PageHarness['state']): Promise<Page> => {
    harness.scripts = scripts;
    harness.state = answer;
    harness.connections = 0;
    harness.stateRequests = [];
    const context = await browser.newContext(PROFILES[profile]);
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(harness.pageUrl(kind));
    assert.deepEqual(errors, []);
    return page;
  };

  /** The page settled on `heading`, saying it once; `buttons` are the actions it offers. */
  const settlesOn = async (page: Page, heading: string, text: string, buttons: string[]) => {
    const shown = await poll(() => notice(page), (n) => n?.heading === heading, `the notice "${heading}"`, 20_000);
    assert.equal(shown!.paragraphs[0], text);
    assert.deepEqual(shown!.buttons, buttons);
    const body = await page.evaluate(() => document.body.innerText);
    assert.equal(body.split(heading).length - 1, 1, 'the heading is shown once');
  };

  /** Nothing more happens: no further connection in a while (longer than the first reconnect delays). */
  const staysPut = async (page: Page, connections: number) => {
    await page.waitForTimeout(4000);
    assert.equal(harness.connections, connections, 'no reconnect attempt');
  };

  for (const kind of ['novnc', 'xterm'] as const) {
    for (const profile of ['desktop', 'phone'] as const) {
      describe(`${kind} page, ${profile}`, () => {
        it('too many viewers (4001): its own message, a Retry button, no reconnect loop', async () => {
          const page = await open(kind, profile, [closeWith(4001, 'too many viewers')], LIVE);
          await settlesOn(page, en['outcome.viewer_limit.title'], en['outcome.viewer_limit.text'], [en['action.retry']]);
          assert.equal(await state(page), 'disconnected');
          await staysPut(page, 1);
          harness.scripts = [serve(kind)];
          await page.getByRole('button', { name: en['action.retry'] }).click();
          await poll(() => state(page), (s) => s === 'connected', 'connected after Retry');
          await page.close();
        });

        it('a stopped guest is watched, and the page connects by itself once it runs', async () => {
          const page = await open(kind, profile, [refuse(kind)], guest('stopped'));
          await settlesOn(page, en['outcome.guest_stopped.title'], en['outcome.guest_stopped.text'], []);
          assert.equal(await state(page), 'waiting');
          assert.ok(harness.stateRequests.every((q) => q === '?guest=1'), 'the page asked for the guest each time');
          await page.waitForTimeout(5000);
          assert.equal(harness.connections, 1, 'no connection while the guest is stopped');
          assert.ok(harness.stateRequests.length >= 2, 'the page keeps watching the session');
          harness.scripts = [serve(kind)];
          harness.state = guest('running');
          await poll(() => state(page), (s) => s === 'connected', 'connected once the guest runs', 20_000);
          assert.equal(harness.connections, 2);
          await page.close();
        });
      });
    }

    describe(`${kind} page, the rest of the table`, () => {
      it('the session ended (4000) and the state says it expired: final, no reconnect', async () => {
        const page = await open(kind, 'desktop', [closeWith(4000, 'session ended')], { status: 404, body: { state: 'ended', outcome: 'session_expired' } });
        await settlesOn(page, en['outcome.session_expired.title'], en['outcome.session_expired.text'], []);
        assert.equal(await state(page), 'ended');
        await staysPut(page, 1);
        await page.close();
      });

      it('ended by the backend while connected: "ended", final', async () => {
        const page = await open(kind, 'desktop', [serve(kind, (ws) => setTimeout(() => ws.close(4000, 'session ended'), 1500))], LIVE);
        await poll(() => state(page), (s) => s === 'connected', 'connected');
        harness.state = { status: 404, body: { state: 'ended', outcome: 'session_ended' } };
        await settlesOn(page, en['outcome.session_ended.title'], en['outcome.session_ended.text'], []);
        await staysPut(page, 1);
        await page.close();
      });

      it('the guest is gone: final', async () => {
        const page = await open(kind, 'desktop', [refuse(kind)], guest('missing'));
        await settlesOn(page, en['outcome.guest_gone.title'], en['outcome.guest_gone.text'], []);
        await staysPut(page, 1);
        await page.close();
      });

      it('access refused: final', async () => {
        const page = await open(kind, 'desktop', [refuse(kind)], guest('denied'));
        await settlesOn(page, en['outcome.access_refused.title'], en['outcome.access_refused.text'], []);
        await staysPut(page, 1);
        await page.close();
      });

      it('refused while the guest runs: "could not be opened", Retry, no loop', async () => {
        const page = await open(kind, 'desktop', [refuse(kind)], guest('running'));
        await settlesOn(page, en['outcome.console_unavailable.title'], en['outcome.console_unavailable.text'], [en['action.retry']]);
        await staysPut(page, 1);
        await page.close();
      });

      it('the gateway restarts (1012): reconnects at once, without asking the state first', async () => {
        const page = await open(kind, 'desktop', [serve(kind, (ws) => setTimeout(() => ws.close(1012, 'gateway restarting'), 1000)), serve(kind)], LIVE);
        await poll(async () => harness.connections, (n) => n === 2, 'the second connection', 10_000);
        await poll(() => state(page), (s) => s === 'connected', 'connected again');
        assert.deepEqual(harness.stateRequests, [], 'no state request');
        await page.close();
      });

      it('try again later (1013): says so, then reconnects with backoff', async () => {
        const page = await open(kind, 'desktop', [closeWith(1013, 'try again later'), serve(kind)], LIVE);
        const shown = await poll(() => notice(page), (n) => n?.heading === en['outcome.try_again_later.title'], 'the try-again notice');
        assert.deepEqual(shown!.paragraphs, [en['outcome.try_again_later.text'], 'Attempt 1 of 6']);
        await poll(() => state(page), (s) => s === 'connected', 'connected on the next attempt');
        await page.close();
      });

      it('the network is lost: "connection lost", attempts, and back once it returns', async () => {
        const page = await open(kind, 'desktop', [serve(kind, (ws) => setTimeout(() => ws.terminate(), 1000)), closeWith(1006)], LIVE);
        await poll(() => state(page), (s) => s === 'connected', 'connected');
        harness.state = 'down';
        const shown = await poll(() => notice(page), (n) => n?.heading === en['outcome.network_lost.title'], 'the connection-lost notice');
        assert.deepEqual(shown!.paragraphs, [en['outcome.network_lost.text'], 'Attempt 1 of 6']);
        assert.deepEqual(shown!.buttons, [en['action.reconnect_now']]);
        await poll(() => notice(page), (n) => n?.paragraphs[1] === 'Attempt 2 of 6', 'the second attempt', 15_000);
        harness.state = LIVE;
        harness.scripts = [serve(kind)];
        harness.connections = 0;
        await poll(() => state(page), (s) => s === 'connected', 'connected once the network is back', 20_000);
        await page.close();
      });
    });
  }
});
