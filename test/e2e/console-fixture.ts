// What the console page tests share: Chromium, a simulator (built-in consoles), a gateway that
// trusts it, links to its guest 100, and the two browser profiles the pages are checked in.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../sim/index.js';
import { launchChromium } from '../helpers/browser.js';
import { createToken, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';

declare const document: { body: { dataset: Record<string, string | undefined> } };

/** Dark, as the pages' default palette; tests of the light theme ask for it. */
export const DESKTOP = { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' as const };
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3, colorScheme: 'dark' as const };
export const PROFILES = { desktop: DESKTOP, phone: PHONE } as const;

export const pageState = (page: Page) => page.evaluate(() => document.body.dataset.state ?? '');
export const untilConnected = (page: Page) => poll(() => pageState(page), (s) => s === 'connected', 'the connected state', 30_000);

export interface ConsoleFixture {
  browser: Browser;
  sim: Simulator;
  tg: TestGateway;
  /** A console link to guest 100 (password login), with `params` on top. */
  link(params?: Record<string, unknown>): Promise<string>;
  /** A browser context closed with the fixture. */
  context(profile: object): Promise<BrowserContext>;
  stop(): Promise<void>;
}

export async function startConsoleFixture(gatewayEnv: Record<string, string> = {}, simOptions: SimulatorOptions = {}): Promise<ConsoleFixture> {
  const browser = await launchChromium();
  const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin', ...simOptions });
  const tg = await startTestGateway(gatewayEnv, sim.caPem);
  const contexts: BrowserContext[] = [];
  return {
    browser,
    sim,
    tg,
    async link(params = {}) {
      const created = await createToken(tg, { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass', ...params });
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      return created.body.url as string;
    },
    async context(profile) {
      const made = await browser.newContext(profile);
      contexts.push(made);
      return made;
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await tg.stop();
      await sim.stop();
    },
  };
}
