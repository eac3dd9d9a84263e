// The outcome table against the real gateway and simulator, in Chromium at desktop and phone
// sizes: a third tab on a two-viewer session gets its final message without a reconnect attempt,
// a guest stopped and started again is reconnected by the page itself, a backend end is final, and
// a console URL opened in another browser says the link was used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { en } from '../../src/console/i18n/en.js';
import { poll } from '../helpers/poll.js';
import { PROFILES, pageState as state, startConsoleFixture, untilConnected as connected, type ConsoleFixture } from './console-fixture.js';

declare const document: { body: { innerText: string } };

describe('console outcomes against the gateway', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture({ PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '2' });
  });
  after(async () => fixture?.stop());
  const link = (params: Record<string, unknown> = {}) => fixture.link(params);
  const context = (profile: keyof typeof PROFILES) => fixture.context(PROFILES[profile]);

  for (const profile of ['desktop', 'phone'] as const) {
    for (const consoleKind of ['novnc', 'xterm'] as const) {
      it(`${consoleKind}, ${profile}: a third tab on a two-viewer session is refused with its final message, no reconnect attempt`, async () => {
        const browserContext = await context(profile);
        const first = await browserContext.newPage();
        await first.goto(await link({ console: consoleKind }));
        await connected(first);
        const second = await browserContext.newPage();
        await second.goto(first.url());
        await connected(second);

        const third = await browserContext.newPage();
        let sockets = 0;
        third.on('websocket', () => sockets++);
        await third.goto(first.url());
        await third.getByText(en['outcome.viewer_limit.title']).waitFor({ timeout: 20_000 });
        const text = await third.evaluate(() => document.body.innerText);
        assert.ok(text.includes(en['outcome.viewer_limit.text']), text);
        assert.ok(!/Attempt \d/.test(text) && !text.includes(en['notice.gave_up.text']), `no reconnect loop: ${text}`);
        await third.waitForTimeout(5000);
        assert.equal(sockets, 1, 'one websocket, no automatic retry');
        assert.equal(await state(third), 'disconnected');

        // Once a tab closes, Retry gets in.
        await second.close();
        await poll(
          async () => {
            await third.getByRole('button', { name: en['action.retry'] }).click({ timeout: 2000 }).catch(() => undefined);
            return state(third);
          },
          (s) => s === 'connected',
          'the third tab connected after Retry',
          30_000,
        );
        await browserContext.close();
      });
    }

    it(`${profile}: a guest stopped and started again is reconnected by the page itself`, async () => {
      const page = await (await context(profile)).newPage();
      await page.goto(await link({ vmid: 100 }));
      await connected(page);
      const guest = fixture.sim.inventory.guests.find((g) => g.vmid === 100)!;
      guest.status = 'stopped';
      try {
        await page.getByText(en['outcome.guest_stopped.title']).waitFor({ timeout: 20_000 });
        assert.equal(await state(page), 'waiting');
        await page.waitForTimeout(3000);
        assert.equal(await state(page), 'waiting', 'still waiting while the guest is stopped');
      } finally {
        guest.status = 'running';
      }
      await connected(page);
      await page.locator('canvas').first().click();
      await page.keyboard.type('back again');
      await poll(async () => fixture.sim.received(100).text, (text) => text.includes('back again'), 'keys at the restarted guest', 15_000);
      await page.close();
    });
  }

  it('the backend ends the session: final message, no reconnect', async () => {
    const page = await (await context('desktop')).newPage();
    let sockets = 0;
    page.on('websocket', () => sockets++);
    await page.goto(await link());
    await connected(page);
    const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
    const ended = await request(`${fixture.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fixture.tg.secret } });
    await ended.body.dump();
    await page.getByText(en['outcome.session_ended.title']).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(4000);
    assert.equal(sockets, 1);
    assert.equal(await state(page), 'ended');
    // A reload is told the same, by the gateway's own page.
    const reloaded = await page.reload();
    assert.equal(reloaded?.status(), 403);
    assert.ok((await page.evaluate(() => document.body.innerText)).includes(en['outcome.session_ended.title']));
    await page.close();
  });

  it('a session that reaches its lifetime says it expired', async () => {
    const page = await (await context('desktop')).newPage();
    await page.goto(await link({ max_duration: 4 }));
    await connected(page);
    await page.getByText(en['outcome.session_expired.title']).waitFor({ timeout: 20_000 });
    assert.equal(await state(page), 'ended');
    await page.close();
  });

  it('the console URL opened in another browser says the link was used', async () => {
    const page = await (await context('desktop')).newPage();
    await page.goto(await link());
    await connected(page);
    const other = await (await context('phone')).newPage();
    const answer = await other.goto(page.url());
    assert.equal(answer?.status(), 403);
    const text = await other.evaluate(() => document.body.innerText);
    assert.ok(text.includes(en['outcome.link_used.title']) && text.includes(en['outcome.link_used.text']), text);
    await page.close();
  });
});
