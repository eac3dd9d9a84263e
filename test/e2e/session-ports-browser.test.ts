// With session_ports, a real browser follows the link to the session's own port and uses the
// console there: page, assets, websocket (its Origin is that port's) and keys to the guest.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { createToken, freePort } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

describe('a console on its own session port, in a real browser', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  const fx = useSimAndGateway(async () => {
    const first = await freePort();
    return { PROXMOXVNC_SESSION_PORTS: `${first}-${first + 20}` };
  }, { backend: 'builtin' });

  it('connects on the session port and types into the guest', async () => {
    const created = await createToken(fx.tg, { hostname: '127.0.0.2', port: fx.sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(created.body.url as string);
    assert.notEqual(new URL(page.url()).port, new URL(fx.tg.origin).port, 'the page moved to its own port');
    await page.locator('.pill[data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.locator('canvas').click();
    await page.keyboard.type('own port');
    await poll(async () => fx.sim.received(100).text, (text) => text.includes('own port'), 'keys at the guest', 10_000);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
