// Shared links in a real Chromium: support staff open a link made with POST /sessions/<id>/links
// in a browser of their own. A view-only one sees the owner's screen, pixel for pixel, and its
// keys never reach the guest while the owner's do; a full-control one's keys do; the backend's
// end closes every viewer; nothing of Proxmox reaches the shared browser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { leaks, recordReceived, type Received } from '../helpers/browser.js';
import { poll } from '../helpers/poll.js';
import { DESKTOP, pageState, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: 'canvas'): PageCanvas | null };
declare const crypto: { subtle: { digest(algorithm: string, data: Uint8ClampedArray): Promise<ArrayBuffer> } };

/** noVNC's canvas as the page shows it: its size and a digest of its pixels (taken in the page: 2 MB stay there). */
function screen(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const canvas = document.querySelector('canvas');
    if (!canvas || canvas.width === 0) return 'none';
    const digest = await crypto.subtle.digest('SHA-256', canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
    return `${canvas.width}x${canvas.height}:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  });
}

describe('shared links in a real browser', () => {
  let fixture: ConsoleFixture;
  const received: Received[] = [];

  before(async () => {
    fixture = await startConsoleFixture({ PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '3' });
  });
  after(async () => {
    await fixture?.stop();
  });

  /** A page of its own browser profile (no cookie of another), its frames recorded for the leak scan. */
  const open = async (url: string): Promise<Page> => {
    const page = await (await fixture.context(DESKTOP)).newPage();
    received.push(recordReceived(page));
    await page.goto(url);
    await untilConnected(page);
    return page;
  };
  const shareLink = async (sessionId: string, viewOnly: boolean): Promise<string> => {
    const answer = await request(`${fixture.tg.origin}/sessions/${sessionId}/links`, {
      method: 'POST',
      headers: { authorization: fixture.tg.secret, 'content-type': 'application/json' },
      body: JSON.stringify({ view_only: viewOnly }),
    });
    const body = (await answer.body.json()) as { url: string };
    assert.equal(answer.statusCode, 200, JSON.stringify(body));
    return body.url;
  };
  const typeInto = async (page: Page, text: string) => {
    await page.locator('canvas').first().click();
    await page.keyboard.type(text);
  };

  it("shows a view-only viewer the owner's screen and keeps its keys from the guest; a full-control one's reach it; the end closes both", async () => {
    const owner = await open(await fixture.link());
    const sessionId = /\/console\/([^/]+)\//.exec(owner.url())![1]!;
    const watcher = await open(await shareLink(sessionId, true));
    assert.equal(new URL(watcher.url()).pathname, `/console/${sessionId}/`);
    assert.ok(await watcher.locator('.badge').filter({ hasText: /view only/i }).isVisible(), 'the page says it is view-only');

    const before = await poll(() => screen(owner), (s) => s !== 'none', "the owner's screen");
    await typeInto(owner, 'owner-r8t1');
    await poll(async () => fixture.sim.received(100).text, (t) => t.includes('owner-r8t1'), "the owner's keys at the guest", 10_000);
    // The guest echoes typed keys on its screen: both pages show the same new picture.
    await poll(
      async () => [await screen(owner), await screen(watcher)],
      ([own, watched]) => own !== before && own === watched,
      'the same screen on both pages after the owner typed',
      15_000,
    );

    await typeInto(watcher, 'watcher-k2p9');
    await typeInto(owner, 'owner-again-z5');
    await poll(async () => fixture.sim.received(100).text, (t) => t.includes('owner-again-z5'), "the owner's later keys at the guest", 10_000);
    assert.ok(!fixture.sim.received(100).text.includes('watcher'), "the view-only viewer's keys never reached the guest");

    const helper = await open(await shareLink(sessionId, false));
    await typeInto(helper, 'helper-m3n6');
    await poll(async () => fixture.sim.received(100).text, (t) => t.includes('helper-m3n6'), "the full-control shared viewer's keys at the guest", 10_000);

    const ended = await request(`${fixture.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fixture.tg.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    for (const page of [watcher, helper, owner]) await poll(() => pageState(page), (s) => s === 'ended', 'the ended state on every page', 10_000);
  });

  it('sends nothing that identifies or unlocks Proxmox to the shared browsers (invariant 1)', () => {
    const secrets = fixture.sim.issuedSecrets();
    assert.ok(secrets.length > 2, 'the simulator issued tickets and VNC passwords');
    assert.ok(received.length === 3 && received.every((r) => r.frames.length > 0), 'every page received websocket frames');
    for (const r of received) assert.deepEqual(leaks(r, ['127.0.0.2', 'pve1', 'vncuser', 'vncpass', ...secrets], [fixture.sim.port]), []);
  });
});
