// axe-core in Chromium on the console pages (graphical and text, connected, with the key bar, and
// showing a notice), the invalid-link page and the ended page, at desktop and phone sizes: no
// serious or critical violation; the screen area has an accessible name. (The power menu, its
// confirmation and the stopped guest's notice are checked in power-browser.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { seriousViolations } from './axe.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

describe('accessibility of the pages (axe-core)', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture();
  });
  after(async () => fixture?.stop());

  // The phone in the light theme, the desktop in the dark one: both palettes are checked.
  for (const [name, profile] of [['desktop', DESKTOP], ['phone, light theme', { ...PHONE, colorScheme: 'light' as const }]] as const) {
    for (const consoleKind of ['novnc', 'xterm'] as const) {
      it(`${consoleKind} console page, ${name}: connected, with the key bar, then ended`, async () => {
        const page = await (await fixture.context(profile)).newPage();
        await page.goto(await fixture.link({ console: consoleKind }));
        await untilConnected(page);
        const label = await page.evaluate(() => document.querySelector('.screen')?.getAttribute('aria-label') ?? null);
        assert.equal(label, consoleKind === 'novnc' ? 'Remote screen of web01' : 'Terminal of web01');
        assert.deepEqual(await seriousViolations(page), []);
        await page.locator('.tb-keyboard').click();
        await page.locator('.keybar-fn').click();
        assert.deepEqual(await seriousViolations(page), [], 'with the key bar');
        await page.locator('.tb-settings').click();
        assert.deepEqual(await seriousViolations(page), [], 'with the settings open');
        await page.keyboard.press('Escape');
        if (consoleKind === 'novnc') {
          await page.locator('.menu-anchor', { has: page.locator('.menu--keys') }).locator('button').first().click();
          assert.deepEqual(await seriousViolations(page), [], 'with the Keys menu open');
          await page.keyboard.press('Escape');
          await page.locator('.tb-clipboard').click();
          await page.locator('dialog.paste-dialog').waitFor();
          assert.deepEqual(await seriousViolations(page), [], 'with the clipboard dialog open');
          await page.keyboard.press('Escape');
        }
        const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
        await (await request(`${fixture.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fixture.tg.secret } })).body.dump();
        await page.getByText('This console session has ended.').waitFor({ timeout: 15_000 });
        assert.deepEqual(await seriousViolations(page), [], 'with the ended notice');
        // The gateway's own ended page, as a reload gets it.
        await page.reload();
        assert.deepEqual(await seriousViolations(page), [], 'the ended page');
        await page.close();
      });
    }

    it(`invalid-link page, ${name}`, async () => {
      const page = await (await fixture.context(profile)).newPage();
      const answer = await page.goto(`${fixture.tg.origin}/vnc/${'A'.repeat(43)}`);
      assert.equal(answer?.status(), 404);
      assert.deepEqual(await seriousViolations(page), []);
      await page.close();
    });
  }
});
