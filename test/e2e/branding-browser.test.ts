// The operator's brand on every page, in Chromium: the product name in the title, the logo (served
// under /assets/) in the toolbar and on the invalid-link and ended pages, the accent colour in
// both themes; and a brand the gateway cannot use is refused at start.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

declare const document: {
  title: string;
  documentElement: unknown;
  querySelector(selector: string): { naturalWidth: number; getAttribute(name: string): string | null } | null;
};
declare function getComputedStyle(element: unknown): { getPropertyValue(name: string): string; borderTopColor: string };

const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="24" viewBox="0 0 64 24"><rect width="64" height="24" rx="4" fill="#d6336c"/></svg>';

describe('branding', () => {
  let fixture: ConsoleFixture;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvnc-brand-'));
    await writeFile(join(dir, 'logo.svg'), LOGO);
    fixture = await startConsoleFixture({ PROXMOXVNC_BRAND: JSON.stringify({ name: 'Acme Cloud', logo_file: join(dir, 'logo.svg'), accent: '#d6336c' }) });
  });
  after(async () => {
    await fixture?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const logoShown = (page: Page, selector: string) => page.evaluate((s) => document.querySelector(s)?.naturalWidth ?? 0, selector);
  const accent = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());

  for (const [name, profile] of [['desktop', DESKTOP], ['phone, light theme', { ...PHONE, colorScheme: 'light' as const }]] as const) {
    it(`${name}: the console page, then the ended page, carry the name, logo and accent`, async () => {
      const page = await (await fixture.context(profile)).newPage();
      await page.goto(await fixture.link());
      await untilConnected(page);
      assert.equal(await page.evaluate(() => document.title), 'web01 – Acme Cloud');
      assert.ok((await logoShown(page, 'img.tb-brand-logo')) > 0, 'the logo loaded in the toolbar');
      assert.equal(await page.locator('img.tb-brand-logo').getAttribute('alt'), 'Acme Cloud');
      assert.equal(await accent(page), '#d6336c');
      const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
      await (await request(`${fixture.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fixture.tg.secret } })).body.dump();
      await page.getByText('This console session has ended.').waitFor({ timeout: 15_000 });
      await page.reload();
      assert.equal(await page.evaluate(() => document.title), 'This console session has ended. – Acme Cloud');
      assert.ok((await logoShown(page, 'img.message-logo')) > 0, 'the logo on the ended page');
      assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.message-card')).borderTopColor), 'rgb(214, 51, 108)');
      await page.close();
    });
  }

  it('the invalid-link page too; the logo is served as an image that can run nothing', async () => {
    const page = await (await fixture.context(DESKTOP)).newPage();
    await page.goto(`${fixture.tg.origin}/vnc/${'D'.repeat(43)}`);
    assert.equal(await page.evaluate(() => document.title), 'Invalid session – Acme Cloud');
    assert.ok((await logoShown(page, 'img.message-logo')) > 0);
    const logo = await request(`${fixture.tg.origin}/assets/brand-logo.svg`);
    assert.equal(logo.statusCode, 200);
    assert.equal(logo.headers['content-type'], 'image/svg+xml');
    assert.match(String(logo.headers['content-security-policy']), /sandbox/);
    assert.equal(await logo.body.text(), LOGO);
    await page.close();
  });

  it('a brand with a colour that is not one, or an unknown field, is refused by name', () => {
    const env = { PROXMOXVNC_AUTHORIZATION: 'x'.repeat(40), PROXMOXVNC_BRAND: JSON.stringify({ name: 'Acme', accent: 'red;}body{display:none' }) };
    const loaded = loadConfig({ env, flags: {} });
    assert.ok('problems' in loaded && loaded.problems.some((p) => /brand/.test(p) && /colour/.test(p)), JSON.stringify(loaded));
    const unknown = loadConfig({ env: { ...env, PROXMOXVNC_BRAND: JSON.stringify({ name: 'Acme', logo: 'x.svg' }) }, flags: {} });
    assert.ok('problems' in unknown && unknown.problems.some((p) => /brand/.test(p)), JSON.stringify(unknown));
  });
});
