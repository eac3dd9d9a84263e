// Two tabs of one xterm.js console session in Chromium: they share the session's one terminal, so
// the second tab, opened later, shows what the first typed and its answer, and what either types
// appears in both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { poll } from '../helpers/poll.js';
import { screenRows } from '../helpers/xterm-screen.js';
import { pageState, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

async function type(page: Page, text: string): Promise<void> {
  await page.locator('.xterm').click();
  await page.keyboard.type(text);
}

describe('two tabs of one xterm.js console session', () => {
  let fx: ConsoleFixture;

  before(async () => {
    fx = await startConsoleFixture();
  });
  after(async () => {
    await fx?.stop();
  });

  it("the second tab shows what the first typed, and each sees the other's typing", async () => {
    const { sim, tg } = fx;
    // One browser profile: the second tab has the session's cookie, as a tab opened from the first would.
    const context = await fx.context({ viewport: { width: 1000, height: 700 } });
    const first = await context.newPage();
    await first.goto(await fx.link({ console: 'xterm' }));
    await untilConnected(first);
    await type(first, 'echo typed-in-the-first-tab\n');
    await poll(() => screenRows(first), (rows) => rows.includes('typed-in-the-first-tab'), 'the answer in the first tab');

    const second = await context.newPage();
    await second.goto(first.url());
    await untilConnected(second);
    const rows = await poll(() => screenRows(second), (r) => r.includes('typed-in-the-first-tab'), "the first tab's command and answer in the second tab");
    assert.ok(rows.some((row) => row.endsWith('# echo typed-in-the-first-tab')), `the typed command too: ${JSON.stringify(rows)}`);

    await type(second, 'echo typed-in-the-second-tab\n');
    await poll(() => screenRows(first), (r) => r.includes('typed-in-the-second-tab'), "the second tab's typing in the first");
    assert.equal(sim.stats().termproxyCalls, 1, 'one terminal for both tabs');

    // A dropped connection (1013 here) reconnects to the same terminal, whose output is replayed: shown once, not twice.
    const sessionId = /\/console\/([^/]+)\//.exec(first.url())![1]!;
    tg.gateway.viewers.closeSession(sessionId, 1013, 'try again later');
    await poll(() => pageState(first), (state) => state !== 'connected', 'the drop');
    await untilConnected(first);
    // Typed after the reconnect, so shown after the replayed output.
    await type(first, 'echo after-the-reconnect\n');
    const again = await poll(() => screenRows(first), (r) => r.includes('after-the-reconnect'), 'the screen after the reconnect');
    assert.equal(again.filter((row) => row === 'typed-in-the-first-tab').length, 1, `the replayed screen once: ${JSON.stringify(again)}`);
    assert.equal(sim.stats().termproxyCalls, 1, 'the same terminal after the reconnect');
  });
});
