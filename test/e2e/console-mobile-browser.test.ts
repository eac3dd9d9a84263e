// Phones and tablets, in Chromium at 1280x800 and with a phone profile (390x844, touch, isMobile)
// against the gateway and the simulator: the keyboard button's input reaches the guest on both
// consoles (typed keys and an on-screen keyboard's text), the sticky key bar (Ctrl+C in xterm and
// on the graphical console, Esc, arrows, F-keys), menus and dialogs inside the viewport from
// 320 px up, and noVNC's touch gestures as the RFB messages they become.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CDPSession, Page } from 'playwright-core';
import { poll } from '../helpers/poll.js';
import { PHONE, PROFILES, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';
import { keyEvents, pointerMasks } from './rfb-messages.js';

declare const document: {
  activeElement: { className: string } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};

const activeClass = (page: Page) => page.evaluate(() => document.activeElement?.className ?? '');

describe('the console on phones and tablets', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture();
  });
  after(async () => fixture?.stop());

  /** A connected console page, and the frames its websocket sent. */
  const openConsole = async (profile: object, params: Record<string, unknown> = {}): Promise<{ page: Page; sent: Buffer[] }> => {
    const page = await (await fixture.context(profile)).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const sent: Buffer[] = [];
    page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => sent.push(typeof payload === 'string' ? Buffer.from(payload) : payload)));
    await page.goto(await fixture.link(params));
    await untilConnected(page);
    assert.deepEqual(errors, []);
    return { page, sent };
  };

  /** A tap where touch is the input, a click elsewhere. */
  const press = async (page: Page, selector: string, touch: boolean) => {
    const target = page.locator(selector);
    if (touch) await target.tap();
    else await target.click();
  };

  for (const [name, profile] of Object.entries(PROFILES)) {
    const touch = name === 'phone';

    it(`graphical console, ${name}: the keyboard button's input reaches the guest, typed and composed`, async () => {
      const { page } = await openConsole(profile);
      await press(page, '.tb-keyboard', touch);
      assert.equal(await activeClass(page), 'typing-input', 'the field an on-screen keyboard types into has the focus');
      assert.equal(await page.locator('.keybar').isVisible(), true);
      const before = fixture.sim.received(100).text.length;
      await page.keyboard.type('abc 12');
      // An on-screen keyboard composing words sends text without key events.
      await page.keyboard.insertText(' phone');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Enter');
      await poll(async () => fixture.sim.received(100).text.slice(before), (text) => text === 'abc 12 phon\n', 'the typed text at the guest', 15_000);
      await press(page, '.tb-keyboard', touch);
      assert.equal(await page.locator('.keybar').isVisible(), false);
      await page.close();
    });

    it(`graphical console, ${name}: sticky Ctrl applies to the next key only; Esc and F5 from the bar`, async () => {
      const { page, sent } = await openConsole(profile);
      await press(page, '.tb-keyboard', touch);
      await press(page, '.keybar-key[data-modifier="ctrl"]', touch);
      assert.equal(await page.locator('.keybar-key[data-modifier="ctrl"]').getAttribute('aria-pressed'), 'true');
      assert.equal(await activeClass(page), 'typing-input', 'the bar leaves the focus where typing goes');
      const from = keyEvents(sent).length;
      await page.keyboard.type('cd');
      await poll(async () => keyEvents(sent).slice(from).length, (n) => n >= 6, 'the key events of Ctrl+C and d');
      assert.deepEqual(
        keyEvents(sent).slice(from, from + 6).map((k) => `${k.down ? '+' : '-'}${k.keysym.toString(16)}`),
        ['+ffe3', '+63', '-63', '-ffe3', '+64', '-64'],
      );
      assert.equal(await page.locator('.keybar-key[data-modifier="ctrl"]').getAttribute('aria-pressed'), 'false');

      await press(page, '.keybar-key[data-key="Escape"]', touch);
      await press(page, '.keybar-fn', touch);
      await press(page, '.keybar-key[data-key="F5"]', touch);
      await poll(async () => fixture.sim.received(100).keysyms.slice(-2), (k) => k[0] === 0xff1b && k[1] === 0xffc2, 'Esc and F5 at the guest');
      await page.close();
    });

    it(`text console, ${name}: the keyboard button's input reaches the guest; sticky Ctrl+C; arrows and F5`, async () => {
      const { page } = await openConsole(profile, { console: 'xterm' });
      await press(page, '.tb-keyboard', touch);
      assert.match(await activeClass(page), /xterm-helper-textarea/);
      await page.keyboard.type('hostname\n');
      await poll(
        () => page.evaluate(() => Array.from(document.querySelectorAll('.xterm-rows > div'), (r) => (r.textContent ?? '').trim())),
        (rows) => rows.includes('web01'),
        'the command answered',
      );
      const before = fixture.sim.terminal(100).input.length;
      await press(page, '.keybar-key[data-modifier="ctrl"]', touch);
      await page.keyboard.type('c');
      await press(page, '.keybar-key[data-key="ArrowUp"]', touch);
      await press(page, '.keybar-fn', touch);
      await press(page, '.keybar-key[data-key="F5"]', touch);
      await press(page, '.keybar-key[data-modifier="alt"]', touch);
      await press(page, '.keybar-key[data-key="ArrowLeft"]', touch);
      await poll(async () => fixture.sim.terminal(100).input.slice(before), (input) => input === '\x03\x1b[A\x1b[15~\x1b[1;3D', 'Ctrl+C, Up, F5 and Alt+Left at the terminal', 15_000);
      assert.equal(await page.locator('.keybar-key[data-modifier="super"]').count(), 0, 'no Windows key on a terminal');
      await page.close();
    });
  }

  for (const width of [320, 390, 768, 1280]) {
    it(`menus and dialogs stay inside a ${width} px wide window`, async () => {
      const profile = width < 800 ? { ...PHONE, viewport: { width, height: 700 } } : { viewport: { width, height: 800 } };
      const { page } = await openConsole(profile);
      const inside = async (selector: string) => {
        const box = (await page.locator(selector).boundingBox())!;
        assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= width + 0.5 && box.y + box.height <= profile.viewport.height + 0.5, `${selector} at ${JSON.stringify(box)}`);
      };
      for (const menu of ['.menu--keys', '.menu--scaling']) {
        await page.locator('.menu-anchor', { has: page.locator(menu) }).locator('button').first().click();
        await page.locator(menu).waitFor();
        await inside(menu);
        await page.keyboard.press('Escape');
      }
      await page.locator('.tb-clipboard').click();
      await page.locator('dialog.paste-dialog').waitFor();
      await inside('dialog.paste-dialog');
      await page.close();
    });
  }

  describe("noVNC's touch gestures on a phone", () => {
    let cdp: CDPSession;
    let page: Page;
    let sent: Buffer[];
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: Array<[number, number]>) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
    const centre = async () => {
      const box = (await page.locator('.screen canvas').first().boundingBox())!;
      return [box.x + box.width / 2, box.y + box.height / 2] as [number, number];
    };
    const masksSince = async (from: number, ok: (masks: number[]) => boolean, what: string) => poll(async () => pointerMasks(sent).slice(from), ok, what, 10_000);

    before(async () => {
      ({ page, sent } = await openConsole(PHONE));
      cdp = await page.context().newCDPSession(page);
    });
    after(async () => page?.close());

    it('a tap is a left click', async () => {
      const [x, y] = await centre();
      const from = pointerMasks(sent).length;
      await touch('touchStart', [[x, y]]);
      await touch('touchEnd', []);
      await masksSince(from, (m) => m.includes(1) && m.at(-1) === 0, 'button 1 pressed and released');
    });

    it('a long press is a right click', async () => {
      const [x, y] = await centre();
      const from = pointerMasks(sent).length;
      await touch('touchStart', [[x, y]]);
      await page.waitForTimeout(1300);
      await touch('touchEnd', []);
      const masks = await masksSince(from, (m) => m.includes(4) && m.at(-1) === 0, 'button 3 pressed and released');
      assert.ok(!masks.includes(1), 'no left click');
    });

    it('a two-finger drag scrolls (wheel buttons)', async () => {
      const [x, y] = await centre();
      const from = pointerMasks(sent).length;
      await touch('touchStart', [[x - 40, y - 60], [x + 40, y - 60]]);
      for (let step = 1; step <= 10; step++) await touch('touchMove', [[x - 40, y - 60 + step * 15], [x + 40, y - 60 + step * 15]]);
      await touch('touchEnd', []);
      const masks = await masksSince(from, (m) => m.some((b) => b === 8 || b === 16), 'wheel presses');
      assert.ok(!masks.includes(1), 'no left click');
    });

    it('a pinch zooms (Ctrl with the wheel)', async () => {
      const [x, y] = await centre();
      const from = pointerMasks(sent).length;
      const keysFrom = keyEvents(sent).length;
      await touch('touchStart', [[x - 20, y], [x + 20, y]]);
      for (let step = 1; step <= 10; step++) await touch('touchMove', [[x - 20 - step * 12, y], [x + 20 + step * 12, y]]);
      await touch('touchEnd', []);
      await masksSince(from, (m) => m.some((b) => b === 8 || b === 16), 'wheel presses');
      assert.ok(keyEvents(sent).slice(keysFrom).some((k) => k.keysym === 0xffe3 && k.down), 'Ctrl held');
    });

    it('at actual size, a one-finger drag pans the screen instead of dragging', async () => {
      await page.locator('.menu-anchor', { has: page.locator('.menu--scaling') }).locator('button').first().tap();
      await page.locator('.menu--scaling [data-mode="none"]').tap();
      const canvasBox = async () => (await page.locator('.screen canvas').first().boundingBox())!;
      await poll(async () => (await canvasBox()).width, (w) => w <= 390, 'the screen clipped to the window');
      const [x, y] = await centre();
      const from = pointerMasks(sent).length;
      const pixelsBefore = await page.locator('.screen canvas').first().screenshot();
      await touch('touchStart', [[x, y]]);
      for (let step = 1; step <= 10; step++) await touch('touchMove', [[x - step * 20, y - step * 10]]);
      await touch('touchEnd', []);
      await page.waitForTimeout(500);
      assert.ok(!pointerMasks(sent).slice(from).includes(1), 'no button press sent while panning');
      const pixelsAfter = await page.locator('.screen canvas').first().screenshot();
      assert.ok(!pixelsBefore.equals(pixelsAfter), 'the visible part of the screen moved');
    });
  });
});
