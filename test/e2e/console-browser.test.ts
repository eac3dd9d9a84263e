import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { launchChromium, leaks, recordReceived, type Received } from '../helpers/browser.js';
import { createToken, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { requireExecutable } from '../helpers/system.js';
import { poll } from '../helpers/poll.js';

/** The page's DOM, as far as these in-page callbacks use it (the test program has no DOM types). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray; width: number; height: number } } | null;
}
declare const document: { querySelector(selector: 'canvas'): PageCanvas | null };

/** Bright pixels in each 16-pixel text row of the remote screen, read from noVNC's canvas. */
async function brightPixelsPerTextRow(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas');
    if (!canvas || canvas.width === 0) return [];
    const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const rows: number[] = [];
    for (let band = 0; band < Math.floor(height / 16); band++) {
      let bright = 0;
      for (let y = band * 16; y < band * 16 + 16; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          if (data[i]! + data[i + 1]! + data[i + 2]! > 300) bright++;
        }
      }
      rows.push(bright);
    }
    return rows;
  });
}

describe('the console in a real browser', () => {
  let browser: Browser;
  let qemuSim: Simulator;
  let builtinSim: Simulator;
  let tg: TestGateway;
  const received: Received[] = [];
  const secrets = new Set<string>();
  let recordingDir: string;

  before(async () => {
    requireExecutable('qemu-system-x86_64', 'qemu-system-x86');
    browser = await launchChromium();
    qemuSim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'qemu' });
    builtinSim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    // One gateway trusting both simulated clusters' CAs is not possible with one CA file: pin instead.
    // Every console here is recorded, so the scan at the end covers the recordings too.
    recordingDir = await mkdtemp(join(tmpdir(), 'pvnc-console-rec-'));
    tg = await startTestGateway({ PROXMOXVNC_RECORDING_DIR: recordingDir });
  });
  after(async () => {
    await browser?.close();
    await tg?.stop();
    await qemuSim?.stop();
    await builtinSim?.stop();
    if (recordingDir) await rm(recordingDir, { recursive: true, force: true });
  });

  const openConsole = async (sim: Simulator, extra: Record<string, string | undefined> = {}): Promise<Page> => {
    const created = await createToken(tg, {
      hostname: '127.0.0.2',
      port: String(sim.port),
      node: 'pve1',
      username: 'vncuser@pve',
      password: 'vncpass',
      vmid: '100',
      fingerprint: sim.fingerprint,
      record: 'true',
      ...extra,
    });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    received.push(recordReceived(page));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(created.body.url as string);
    assert.match(page.url(), /\/console\/[A-Za-z0-9_-]+\/$/);
    assert.deepEqual(errors, []);
    return page;
  };

  it("shows QEMU's SeaBIOS screen: text rows on the canvas", async () => {
    const page = await openConsole(qemuSim);
    // The first console starts QEMU, which under a loaded CI machine takes well beyond 20 s to paint;
    // the page's status and notice go along so a failure says whether it connected at all.
    const { rows } = await poll(
      async () => ({
        rows: await brightPixelsPerTextRow(page),
        status: await page.locator('.pill-text').textContent(),
        notice: await page.locator('.notice-layer:not([hidden]) .notice').allTextContents(),
      }),
      ({ rows: r }) => r.length >= 10 && r[0]! > 100,
      'SeaBIOS text in the first row',
      60_000,
    );
    const total = rows.reduce((a, b) => a + b, 0);
    const pixels = rows.length * 16 * (await page.evaluate(() => document.querySelector('canvas')!.width));
    assert.ok(total < pixels * 0.3, 'text on a dark screen, not a filled canvas');
    assert.ok(rows.some((bright) => bright === 0), 'some text rows are empty');
    await page.close();
  });

  it('types keys pressed in the page into the guest', async () => {
    const page = await openConsole(builtinSim);
    await poll(() => brightPixelsPerTextRow(page), (r) => r.some((b) => b > 0), 'the guest screen');
    await page.locator('canvas').first().click();
    await page.keyboard.type('hello 42');
    await poll(async () => builtinSim.received(100).text, (text) => text.includes('hello 42'), 'keys at the guest', 10_000);
    await page.close();
  });

  it('types pasted text into the guest as keystrokes', async () => {
    const page = await openConsole(builtinSim);
    await poll(() => brightPixelsPerTextRow(page), (r) => r.some((b) => b > 0), 'the guest screen');
    await page.locator('.tb-clipboard').click();
    await page.locator('textarea.paste-text').fill('Pasted: A-z 0_9!');
    await page.getByRole('button', { name: 'Type text', exact: true }).click();
    await poll(async () => builtinSim.received(100).text, (text) => text.includes('Pasted: A-z 0_9!'), 'the pasted text at the guest', 10_000);
    await page.close();
  });

  it("shows a container's terminal on its noVNC console and takes commands", async () => {
    const page = await openConsole(builtinSim, { vmid: '200', node: undefined });
    await poll(() => brightPixelsPerTextRow(page), (r) => r.length > 0 && r[0]! > 50, 'terminal text in the first row');
    await page.locator('canvas').first().click();
    await page.keyboard.type('hostname\n');
    await poll(async () => builtinSim.terminal(200).screen, (screen) => screen.split('\n').some((line) => line.trim() === 'ct01'), 'the command answered on screen', 10_000);
    await page.close();
  });

  it('works with an API token instead of a password', async () => {
    const page = await openConsole(builtinSim, {
      username: undefined,
      password: undefined,
      api_token: 'vncuser@pve!console=11111111-2222-3333-4444-555555555555',
    });
    await poll(() => brightPixelsPerTextRow(page), (r) => r.some((b) => b > 0), 'the guest screen');
    await page.close();
  });

  it('tells the user clearly when the backend ends the session', async () => {
    const page = await openConsole(builtinSim);
    await poll(() => brightPixelsPerTextRow(page), (r) => r.some((b) => b > 0), 'the guest screen');
    const sessionId = /\/console\/([^/]+)\//.exec(page.url())![1]!;
    const ended = await request(`${tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: tg.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    await page.getByText('This console session has ended.').waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('tells the user clearly when the server is not running', async () => {
    const page = await openConsole(builtinSim, { validate: 'false', vmid: '101' });
    await page.getByText('The server is not running.').waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('sends nothing that identifies or unlocks Proxmox to the browser (invariant 1)', () => {
    for (const sim of [qemuSim, builtinSim]) for (const secret of sim.issuedSecrets()) secrets.add(secret);
    assert.ok(secrets.size > 4, 'the simulators issued tickets, CSRF tokens and VNC passwords');
    const needles = ['127.0.0.2', 'pve1', 'vncuser', 'vncpass', '11111111-2222-3333-4444-555555555555', ...secrets];
    assert.ok(received.length >= 2 && received.every((r) => r.frames.length > 0), 'every page received websocket frames');
    for (const r of received) assert.deepEqual(leaks(r, needles, [qemuSim.port, builtinSim.port]), []);
  });

  it('records nothing that unlocks Proxmox either', async () => {
    // The long needles only: a recording is mostly compressed pixels, where a short one can occur by chance.
    const needles = ['vncpass', '11111111-2222-3333-4444-555555555555', ...secrets].filter((needle) => needle.length >= 7);
    const files = (await readdir(recordingDir)).filter((file) => file.endsWith('.pvncrec'));
    assert.ok(files.length >= 5, `every console that showed a screen was recorded (${files.length})`);
    for (const file of await readdir(recordingDir)) {
      const content = await readFile(join(recordingDir, file));
      for (const needle of needles) assert.ok(!content.includes(Buffer.from(needle, 'latin1')), `${file} holds ${needle.slice(0, 6)}…`);
    }
  });
});
