// Power actions from the console page, in Chromium at desktop and phone sizes, against the gateway
// and the simulator: /create checks VM.PowerMgmt when power is asked for, the page offers only the
// link's actions (stop and reset after a confirmation; Start only while the console is not connected,
// the others only while it is), each action reaches Proxmox's
// status/<action> with the session's credentials, is counted and logged, and a stopped guest's
// page offers Start and connects by itself once it runs; axe-core finds no serious violation in
// the menu, the confirmation or the stopped guest's notice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { en } from '../../src/console/i18n/en.js';
import { defaultInventory } from '../../sim/index.js';
import { createToken } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { seriousViolations } from './axe.js';
import { DESKTOP, PHONE, pageState, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

declare const location: { pathname: string };

const inventory = defaultInventory();
inventory.users.push({ userid: 'power@pve', password: 'powerpass', acl: [{ path: '/vms', privileges: ['VM.Console', 'VM.Audit', 'VM.PowerMgmt'], propagate: true }], tokens: [] });

describe('power actions from the console page', () => {
  let fixture: ConsoleFixture;
  before(async () => {
    fixture = await startConsoleFixture({}, { inventory });
  });
  after(async () => fixture?.stop());

  const guest = () => fixture.sim.inventory.guests.find((g) => g.vmid === 100)!;
  const powerLink = (power: string[] | string) => fixture.link({ username: 'power@pve', password: 'powerpass', power });
  const metric = async (action: string, outcome: string) => {
    const text = await (await request(`${fixture.tg.origin}/metrics`)).body.text();
    return Number(new RegExp(`proxmoxvnc_power_actions_total\\{action="${action}",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const post = (page: Page, action: string, header = true) =>
    page.evaluate(
      async ([a, h]) => (await fetch(`${location.pathname}power/${a}`, { method: 'POST', headers: h ? { 'x-proxmoxvnc': 'power' } : {} })).status,
      [action, header] as const,
    );

  it('/create refuses power without VM.PowerMgmt (502 permission_denied), unknown actions and view-only links (400)', async () => {
    const base = { hostname: '127.0.0.2', port: fixture.sim.port, vmid: 100 };
    const denied = await createToken(fixture.tg, { ...base, username: 'vncuser@pve', password: 'vncpass', power: ['reboot'] });
    assert.equal(denied.statusCode, 502);
    assert.equal(denied.body.error, 'permission_denied');
    const unknown = await createToken(fixture.tg, { ...base, username: 'power@pve', password: 'powerpass', power: ['explode'] });
    assert.equal(unknown.statusCode, 400);
    assert.ok((unknown.body.fields as Record<string, string>).power);
    const viewOnly = await createToken(fixture.tg, { ...base, username: 'power@pve', password: 'powerpass', power: 'reboot', view_only: true });
    assert.equal(viewOnly.statusCode, 400);
    assert.equal((await createToken(fixture.tg, { ...base, username: 'power@pve', password: 'powerpass', power: 'start,reboot' })).statusCode, 200);
  });

  it('every action reaches the simulator and has its effect; only the link\'s actions, only from the page', async () => {
    const page = await (await fixture.context(DESKTOP)).newPage();
    await page.goto(await powerLink(['suspend', 'resume', 'reboot', 'reset', 'shutdown', 'start', 'stop']));
    await untilConnected(page);
    for (const action of ['suspend', 'resume', 'reboot', 'reset']) {
      const before = await metric(action, 'ok');
      assert.equal(await post(page, action), 200, action);
      assert.equal(await metric(action, 'ok'), before + 1, `${action} counted`);
      assert.ok(fixture.tg.logs.some((l) => l.includes('power action') && l.includes(`action=${action}`)), `${action} logged`);
    }
    assert.equal(await post(page, 'shutdown'), 200);
    assert.equal(guest().status, 'stopped');
    // Started once the page shows the stopped guest, as its user would: a start within the page's
    // own reconnect can find the console refused and the guest running again (CI on Node 24 did).
    await page.getByText(en['outcome.guest_stopped.title']).waitFor({ timeout: 20_000 });
    assert.equal(await post(page, 'start'), 200);
    assert.equal(guest().status, 'running');
    assert.equal(await post(page, 'stop', false), 403, 'no power action without the page\'s header');
    assert.equal(guest().status, 'running');
    await untilConnected(page);
    await page.close();

    const limited = await (await fixture.context(DESKTOP)).newPage();
    await limited.goto(await powerLink(['reboot']));
    await untilConnected(limited);
    assert.equal(await post(limited, 'stop'), 403, 'stop is not among the link\'s actions');
    await limited.close();
  });

  for (const [name, profile] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    it(`${name}: the Power menu, a confirmed stop, and Start on the stopped guest's page`, async () => {
      const page = await (await fixture.context(profile)).newPage();
      await page.goto(await powerLink(['start', 'reboot', 'stop']));
      await untilConnected(page);
      await page.locator('.tb-power').click();
      const offered = await page.locator('.menu--power .menu-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-action')));
      assert.deepEqual(offered, ['start', 'reboot', 'stop']);
      const disabled = await page.locator('.menu--power .menu-item').evaluateAll((items) => items.map((i) => (i as unknown as { disabled: boolean }).disabled));
      assert.deepEqual(disabled, [true, false, false], 'a connected console has a running guest: Start is greyed out');
      assert.deepEqual(await seriousViolations(page), [], 'axe, with the Power menu open');
      await page.locator('.menu--power [data-action="stop"]').click();
      const confirm = page.locator('dialog.confirm-dialog[data-action="stop"]');
      await confirm.waitFor();
      assert.equal(await confirm.locator('h2').textContent(), en['power.confirm.stop.title']);
      assert.deepEqual(await seriousViolations(page), [], 'axe, with the confirmation open');
      await confirm.getByRole('button', { name: en['action.cancel'] }).click();
      assert.equal(guest().status, 'running', 'cancelled: nothing happened');

      await page.locator('.tb-power').click();
      await page.locator('.menu--power [data-action="stop"]').click();
      await confirm.getByRole('button', { name: en['power.stop'], exact: true }).click();
      await poll(async () => guest().status, (s) => s === 'stopped', 'the guest stopped');
      await page.getByText(en['outcome.guest_stopped.title']).waitFor({ timeout: 20_000 });
      assert.deepEqual(await seriousViolations(page), [], "axe, on the stopped guest's notice with Start");
      const whileStopped = await page.locator('.menu--power .menu-item').evaluateAll((items) => items.map((i) => (i as unknown as { disabled: boolean }).disabled));
      assert.deepEqual(whileStopped, [false, true, true], 'a stopped guest can only be started');
      await page.getByRole('button', { name: en['power.start'], exact: true }).click();
      await poll(async () => guest().status, (s) => s === 'running', 'the guest started');
      await poll(() => pageState(page), (s) => s === 'connected', 'connected by itself once the guest runs', 30_000);
      await page.close();
    });
  }
});
