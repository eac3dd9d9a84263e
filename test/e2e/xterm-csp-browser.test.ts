// The xterm.js page under the gateway's CSP, in Chromium: no console error on load, resize or
// output (xterm.js's style elements carry the answer's nonce, its style attributes go through
// the CSSOM), style-src still without 'unsafe-inline', and a fresh nonce per answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { poll } from '../helpers/poll.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';
import { serveTerminal, startPageHarness, type PageHarness } from './page-harness.js';

declare function getComputedStyle(element: unknown): { color: string; fontFamily: string; height: string };
declare const document: { querySelector(selector: string): unknown; querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };

/**
 * xterm.js's own note that an idle task ran long, which a loaded machine causes: no page fault.
 * Any other warning or error, CSP refusals among them, counts.
 */
const SLOW_TASK_NOTE = /^task queue exceeded allotted deadline by \d+ms$/;

/** Every console message of level error or warning, and every CSP violation the page reports. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'warning' && SLOW_TASK_NOTE.test(message.text())) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  return problems;
}

describe('the xterm.js page under the CSP', () => {
  let fixture: ConsoleFixture;
  let harness: PageHarness;
  before(async () => {
    fixture = await startConsoleFixture();
    harness = await startPageHarness();
  });
  after(async () => {
    await fixture?.stop();
    await harness?.close();
  });

  for (const [name, profile] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    it(`${name}: no console error on load, typing and resizes; the nonce is fresh and style-src has no 'unsafe-inline'`, async (t) => {
      const page = await (await fixture.context(profile)).newPage();
      // Closed whatever happens: an open page holds the VM's serial port, which takes one terminal.
      t.after(() => page.close());
      const problems = watchProblems(page);
      const link = await fixture.link({ console: 'xterm' });
      const answer = await page.goto(link);
      await untilConnected(page);
      const csp = answer!.headers()['content-security-policy']!;
      const styleSrc = csp.split('; ').find((d) => d.startsWith('style-src '))!;
      assert.match(styleSrc, /^style-src 'self' 'nonce-[A-Za-z0-9+/]{22}=='$/);
      await page.locator('.xterm').click();
      await page.keyboard.type('uname -a\n');
      await poll(() => page.evaluate(() => Array.from(document.querySelectorAll('.xterm-rows > div'), (r) => r.textContent ?? '').join('\n')), (t) => t.includes('GNU/Linux'), 'the answer');
      for (const [width, height] of [[700, 420], [1100, 700], [360, 640]] as const) {
        await page.setViewportSize({ width, height });
        await page.waitForTimeout(400);
      }
      const style = await page.evaluate(() => {
        const rows = getComputedStyle(document.querySelector('.xterm-rows'));
        return { color: rows.color, font: rows.fontFamily, row: getComputedStyle(document.querySelector('.xterm-rows > div')).height };
      });
      assert.equal(style.color, 'rgb(230, 232, 235)', 'the theme from xterm.js\'s style element applies');
      assert.match(style.font, /monospace/);
      assert.notEqual(style.row, '0px', 'rows have the measured height');
      const again = await (await fixture.context(profile)).newPage();
      t.after(() => again.close());
      const second = (await again.goto(await fixture.link({ console: 'xterm' })))!.headers()['content-security-policy']!;
      assert.notEqual(second, csp, 'another answer, another nonce');
      assert.deepEqual(problems, []);
    });
  }

  it('true-colour output (style attributes in xterm.js) shows its colours without an error', async () => {
    harness.scripts = [serveTerminal(undefined, '\x1b[38;2;255;10;10mred\x1b[0m \x1b[48;2;10;200;10mgreen\x1b[0m\r\n')];
    const page = await (await fixture.context(DESKTOP)).newPage();
    const problems = watchProblems(page);
    await page.goto(harness.pageUrl('xterm'));
    await untilConnected(page);
    const colours = await poll(
      () => page.evaluate(() => Array.from(document.querySelectorAll('.xterm-rows span'), (s) => `${s.textContent}:${getComputedStyle(s).color}`)),
      (c) => c.includes('red:rgb(255, 10, 10)'),
      'the red cell in its colour',
    );
    assert.ok(colours.length > 0);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
