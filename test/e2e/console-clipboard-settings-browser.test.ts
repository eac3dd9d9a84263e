// Clipboard both ways, the remote-resize fallback, the settings panel (remembered per browser)
// and the light theme, in Chromium at desktop and phone sizes against the gateway and the
// simulator (whose built-in guest echoes clipboard text back as its own, like a guest with a VNC
// clipboard).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { en } from '../../src/console/i18n/en.js';
import { poll } from '../helpers/poll.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';
import { cutTexts, keyEvents, lastEncodings } from './rfb-messages.js';

declare const document: {
  documentElement: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): { width: number; height: number; clientWidth: number; textContent: string | null; value: string } | null;
};
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare function getComputedStyle(element: unknown): { fontSize: string; backgroundColor: string; color: string };

const PROFILES = [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const;

describe('clipboard, resize fallback, settings and theme', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture({}, { faults: { echoClipboard: true } });
  });
  after(async () => fixture?.stop());

  const openConsole = async (profile: object, params: Record<string, unknown> = {}, page?: Page): Promise<{ page: Page; sent: Buffer[] }> => {
    const context = await fixture.context({ ...profile, permissions: ['clipboard-read', 'clipboard-write'] });
    const opened = page ?? (await context.newPage());
    const sent: Buffer[] = [];
    opened.on('websocket', (ws) => ws.on('framesent', ({ payload }) => sent.push(typeof payload === 'string' ? Buffer.from(payload) : payload)));
    await opened.goto(await fixture.link(params));
    await untilConnected(opened);
    return { page: opened, sent };
  };
  const pasteBox = (page: Page) => page.locator('dialog.paste-dialog textarea.paste-text');

  for (const [name, profile] of PROFILES) {
    it(`${name}: text sent to the guest's clipboard comes back from it, and can be copied in the page`, async () => {
      const { page, sent } = await openConsole(profile);
      await page.locator('.tb-clipboard').click();
      await pasteBox(page).fill('hello clipboard');
      await page.locator('.clip-send').click();
      await poll(async () => cutTexts(sent), (texts) => texts.includes('hello clipboard'), 'ClientCutText to the guest');
      // The guest put the text on its own clipboard (ServerCutText): the button says there is something.
      await page.locator('.tb-clipboard[data-guest-text]').waitFor({ timeout: 10_000 });
      await page.locator('.tb-clipboard').click();
      assert.equal(await page.locator('.clip-text').inputValue(), 'hello clipboard');
      assert.match((await page.locator('.clip-send').getAttribute('class')) ?? '', /btn-primary/, 'sending to the clipboard is now the default');
      await page.locator('.clip-guest-row button').click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'hello clipboard');
      await page.close();
    });

    it(`${name}: typing text a US keyboard cannot type names those characters first, then types the rest`, async () => {
      const { page, sent } = await openConsole(profile);
      const before = fixture.sim.received(100).text.length;
      const keysBefore = keyEvents(sent).length;
      await page.locator('.tb-clipboard').click();
      await pasteBox(page).fill('5€ für ok');
      await page.locator('.clip-type').click();
      const warning = page.locator('.paste-warning');
      await warning.waitFor();
      assert.equal(await warning.textContent(), en['paste.untypeable'].replace('{chars}', '€ ü'));
      assert.equal(keyEvents(sent).length, keysBefore, 'nothing typed before the user agreed');
      assert.equal(await page.locator('.clip-type').textContent(), en['paste.type_rest']);
      await page.locator('.clip-type').click();
      await poll(async () => fixture.sim.received(100).text.slice(before), (text) => text === '5 fr ok', 'the typable rest at the guest', 15_000);
      assert.ok(!keyEvents(sent).some((k) => k.keysym === 0x20ac || k.keysym === 0x10020ac || k.keysym === 0xfc), 'no key for € or ü');
      await page.close();
    });

    it(`${name}: a guest that refuses remote resize is scaled instead, and the page says so`, async () => {
      const { page } = await openConsole(profile);
      await page.locator('.menu-anchor', { has: page.locator('.menu--scaling') }).locator('button').first().click();
      await page.locator('.menu--scaling [data-mode="remote"]').click();
      await page.locator('.toast', { hasText: en['resize.refused'] }).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('.menu--scaling [data-mode="scale"]').getAttribute('aria-checked'), 'true');
      const canvas = await page.evaluate(() => {
        const c = document.querySelector('.screen canvas')!;
        return { width: c.width, shown: c.clientWidth };
      });
      assert.equal(canvas.width, 800, 'the guest kept its size');
      assert.ok(canvas.shown < canvas.width || name === 'desktop', `scaled to the window: ${JSON.stringify(canvas)}`);
      await page.close();
    });
  }

  it('settings are remembered in this browser and applied: quality, compression, pointer dot, theme; font size on xterm', async () => {
    const { page, sent } = await openConsole(DESKTOP);
    await page.locator('.tb-settings').click();
    await page.locator('#setting-quality').fill('2');
    await page.locator('#setting-compression').fill('7');
    await page.locator('#setting-dotCursor').check();
    await page.locator('#setting-theme').selectOption('light');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await page.keyboard.press('Escape');
    // noVNC asks for them again at once, as pseudo-encodings: quality -32+q, compression -256+c.
    await poll(async () => lastEncodings(sent), (e) => e.includes(-30) && e.includes(-249), 'the new levels asked of the server');

    const reloaded = await openConsole(DESKTOP, {}, page);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light', 'the theme is remembered');
    const encodings = lastEncodings(reloaded.sent);
    assert.ok(encodings.includes(-30) && encodings.includes(-249), `remembered levels: ${encodings.join(',')}`);
    await page.locator('.tb-settings').click();
    assert.equal(await page.locator('#setting-quality').inputValue(), '2');
    assert.equal(await page.locator('#setting-dotCursor').isChecked(), true);
    await page.keyboard.press('Escape');

    // Same browser: the text console reads the same settings, and its own font size.
    const { page: term } = await openConsole(DESKTOP, { console: 'xterm' }, await page.context().newPage());
    assert.equal(await term.evaluate(() => document.documentElement.dataset.theme), 'light');
    assert.equal(await term.evaluate(() => getComputedStyle(document.querySelector('.stage')).backgroundColor), 'rgb(243, 244, 246)');
    assert.equal(await term.evaluate(() => getComputedStyle(document.querySelector('.xterm-rows')).color), 'rgb(31, 35, 40)', "the terminal's light palette");
    await term.locator('.tb-settings').click();
    await term.locator('#setting-fontSize').fill('20');
    await term.keyboard.press('Escape');
    await poll(() => term.evaluate(() => getComputedStyle(document.querySelector('.xterm-rows')).fontSize), (size) => size === '20px', 'the new font size');
    await term.reload();
    await untilConnected(term);
    assert.equal(await term.evaluate(() => getComputedStyle(document.querySelector('.xterm-rows')).fontSize), '20px');
    await term.close();
    await page.close();
  });

  it("the theme follows the system's preference until the settings choose one", async () => {
    const context = await fixture.context({ ...PHONE, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(await fixture.link());
    await untilConnected(page);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await page.locator('.tb-settings').click();
    await page.locator('#setting-theme').selectOption('dark');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.close();
    const dark = await (await fixture.context({ ...DESKTOP, colorScheme: 'dark' })).newPage();
    await dark.goto(await fixture.link());
    await untilConnected(dark);
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await dark.close();
  });
});
