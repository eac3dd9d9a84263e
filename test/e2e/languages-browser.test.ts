// Languages in Chromium: a link made with lang "de" renders the console page in German whatever the
// browser prefers, a link without lang follows Accept-Language, the message pages too, and
// /create refuses a language it has no catalog for.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { de } from '../../src/console/i18n/de.js';
import { createToken } from '../helpers/gateway.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

declare const document: { documentElement: { lang: string }; title: string; body: { innerText: string } };

describe('the pages speak the link\'s or the browser\'s language', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture();
  });
  after(async () => fixture?.stop());

  for (const [name, profile] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    it(`${name}: a lang "de" link renders German in an English browser`, async () => {
      const page = await (await fixture.context({ ...profile, locale: 'en-US' })).newPage();
      await page.goto(await fixture.link({ lang: 'de' }));
      await untilConnected(page);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
      assert.equal(await page.evaluate(() => document.title), de['page.title'].replace('{title}', 'web01'));
      assert.equal(await page.locator('.pill-text').textContent(), de['state.connected']);
      assert.equal(await page.locator('.tb-clipboard').getAttribute('title'), de['toolbar.clipboard.hint']);
      await page.locator('.tb-settings').click();
      assert.equal(await page.locator('#settings-heading').textContent(), de['settings.heading']);
      await page.close();
    });
  }

  it('without lang, the browser\'s Accept-Language decides, on the console and the invalid-link page', async () => {
    const context = await fixture.context({ ...DESKTOP, locale: 'de-DE' });
    const page = await context.newPage();
    await page.goto(await fixture.link({ console: 'xterm' }));
    await untilConnected(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
    assert.equal(await page.locator('.pill-text').textContent(), de['state.connected']);
    const invalid = await context.newPage();
    await invalid.goto(`${fixture.tg.origin}/vnc/${'B'.repeat(43)}`);
    assert.ok((await invalid.evaluate(() => document.body.innerText)).includes(de['message.invalid.heading']));
    const english = await (await fixture.context({ ...DESKTOP, locale: 'en-GB' })).newPage();
    await english.goto(`${fixture.tg.origin}/vnc/${'C'.repeat(43)}`);
    assert.ok((await english.evaluate(() => document.body.innerText)).includes('Invalid session.'));
  });

  it('/create refuses a language without a catalog, naming the ones there are', async () => {
    const answer = await createToken(fixture.tg, { hostname: '127.0.0.2', port: fixture.sim.port, vmid: 100, username: 'vncuser@pve', password: 'vncpass', lang: 'tlh' });
    assert.equal(answer.statusCode, 400);
    assert.match(String((answer.body.fields as Record<string, string>).lang), /must be one of en, de, fr, es, it, nl, pt, pl/);
  });
});
