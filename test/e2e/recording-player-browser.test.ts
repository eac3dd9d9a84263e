// Recorded sessions replayed in Chromium through the player behind a one-time link: a graphical
// console (the simulator's builtin screen) ends on the very pixels the live page showed last, and
// seeking goes back and forth; a text console's asciicast holds the typed command and its answer
// and plays them; the player works at desktop and phone sizes under the page's CSP; and nothing of
// Proxmox is in any recording or in what the player's browser received.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { RecordingStore } from '../../src/recordings/store.js';
import { vncHeader, vncRecord, VncRecordType } from '../../src/recordings/vnc-format.js';
import { leaks, recordReceived, type Received } from '../helpers/browser.js';
import { poll } from '../helpers/poll.js';
import { screenRows } from '../helpers/xterm-screen.js';
import { seriousViolations } from './axe.js';
import { DESKTOP, PHONE, startConsoleFixture, untilConnected, type ConsoleFixture } from './console-fixture.js';

interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageElement {
  textContent: string | null;
  value: string;
  max: string;
  dispatchEvent(event: unknown): boolean;
}
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelector(selector: 'canvas'): PageCanvas | null;
  querySelector(selector: string): PageElement | null;
};
declare class Event {
  constructor(type: string);
}

/** The screen canvas's size and a digest of its pixels (FNV-1a over RGBA). */
function canvasDigest(page: Page): Promise<{ width: number; height: number; digest: number; lit: number }> {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas');
    if (!canvas || canvas.width === 0) return { width: 0, height: 0, digest: 0, lit: 0 };
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let hash = 0x811c9dc5;
    let lit = 0;
    for (let i = 0; i < data.length; i++) {
      hash = Math.imul(hash ^ data[i]!, 0x01000193) >>> 0;
      if (i % 4 === 0 && data[i]! + data[i + 1]! + data[i + 2]! > 300) lit++;
    }
    return { width: canvas.width, height: canvas.height, digest: hash, lit };
  });
}

const playerState = (page: Page) => page.evaluate(() => document.body.dataset.state ?? '');
/** The graphical player hands noVNC the recording at the pace it takes: wait until it has it all. */
const rendered = (page: Page) => poll(() => page.evaluate(() => document.body.dataset.rendering ?? 'idle'), (r) => r === 'idle', 'noVNC given the whole recording');

/** Moves the seek bar as a user dragging it would. */
async function seek(page: Page, to: 'start' | 'end'): Promise<void> {
  await page.evaluate((where) => {
    const bar = document.querySelector('.player-seek')!;
    bar.value = where === 'start' ? '0' : bar.max;
    bar.dispatchEvent(new Event('input'));
  }, to);
  await rendered(page);
}

describe('recordings replayed in the player', { timeout: 180_000 }, () => {
  let fx: ConsoleFixture;
  let dir: string;
  const received: Received[] = [];
  const problems: string[] = [];
  let vncRecording: string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvnc-player-'));
    fx = await startConsoleFixture({ PROXMOXVNC_RECORDING_DIR: dir });
  });
  after(async () => {
    await fx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const control = async (method: 'GET' | 'POST', path: string) => {
    const answer = await request(`${fx.tg.origin}${path}`, { method, headers: { authorization: fx.tg.secret } });
    return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
  };
  const finishedRecording = async (sessionId: string) => {
    const { body } = await poll(
      () => control('GET', '/recordings'),
      (answer) => (answer.body.recordings as { session_id: string; ended_at?: string }[]).some((r) => r.session_id === sessionId && r.ended_at !== undefined),
      'the finished recording',
    );
    return (body.recordings as { id: string; session_id: string; kind: string; ended_at?: string }[]).find((r) => r.session_id === sessionId)!;
  };
  const openPlayer = async (id: string, profile: object): Promise<Page> => {
    const link = await control('POST', `/recordings/${id}/link`);
    assert.equal(link.status, 200, JSON.stringify(link.body));
    const page = await (await fx.context(profile)).newPage();
    received.push(recordReceived(page));
    page.on('pageerror', (error) => problems.push(`${id}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${id}: ${message.text()}`);
    });
    await page.goto(link.body.url as string);
    assert.match(page.url(), new RegExp(`/player/${id}/$`));
    await poll(() => playerState(page), (state) => state === 'paused', 'the loaded recording');
    return page;
  };
  const playToEnd = async (page: Page) => {
    await page.selectOption('.player-speed', '16');
    await page.getByRole('button', { name: 'Play' }).click();
    await poll(() => playerState(page), (state) => state === 'ended', 'the end of the recording', 60_000);
    await rendered(page);
  };
  const controlsInView = async (page: Page, viewport: { width: number; height: number }) => {
    for (const selector of ['.player-play', '.player-seek', '.player-speed']) {
      const box = await page.locator(selector).boundingBox();
      assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width + 1 && box.y + box.height <= viewport.height + 1, `${selector} in view: ${JSON.stringify(box)}`);
    }
  };

  it('replays a graphical console to the pixels the live page showed last, and seeks back and forth', async () => {
    const live = await (await fx.context(DESKTOP)).newPage();
    await live.goto(await fx.link({ record: true, tag: 'ticket-7' }));
    const sessionId = /\/console\/([^/]+)\//.exec(live.url())![1]!;
    await untilConnected(live);
    const first = await poll(() => canvasDigest(live), (c) => c.lit > 0, 'the guest screen');
    await live.locator('canvas').first().click();
    await live.keyboard.type('replay me 42');
    await poll(async () => fx.sim.received(100).text, (text) => text.includes('replay me 42'), 'keys at the guest', 10_000);
    // The last frame: the typed text drawn, and nothing changing any more.
    let last = await poll(() => canvasDigest(live), (c) => c.digest !== first.digest && c.lit > first.lit, 'the typed text on the screen');
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await canvasDigest(live);
      if (now.digest === last.digest) break;
      last = now;
    }
    await live.close();
    const recording = await finishedRecording(sessionId);
    assert.equal(recording.kind, 'vnc');
    vncRecording = recording.id;

    for (const [name, profile] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      const page = await openPlayer(recording.id, profile);
      await controlsInView(page, profile.viewport);
      await playToEnd(page);
      assert.deepEqual(await seriousViolations(page), [], `${name}: axe-core`);
      const replayed = await canvasDigest(page);
      assert.deepEqual(replayed, last, `${name}: the replay ends on the live page's last frame`);
      // The screen fits the window: scaled down on a phone, not cut off.
      const box = await page.locator('canvas').first().boundingBox();
      assert.ok(box && box.width <= profile.viewport.width + 1, `${name}: canvas ${JSON.stringify(box)}`);
      if (name === 'desktop') {
        await seek(page, 'start');
        assert.notEqual((await canvasDigest(page)).digest, last.digest, 'back at the start, the typed text is not there yet');
        await seek(page, 'end');
        assert.deepEqual(await canvasDigest(page), last, 'seeking to the end shows the last frame again');
      }
      await page.close();
    }
  });

  it('records a text console as asciicast v2 holding the typed command and its output, and plays it', async () => {
    const live = await (await fx.context(DESKTOP)).newPage();
    // A container's console: one dtach session, as on Proxmox.
    await live.goto(await fx.link({ console: 'xterm', vmid: 200, node: undefined, record: true }));
    const sessionId = /\/console\/([^/]+)\//.exec(live.url())![1]!;
    await untilConnected(live);
    await live.locator('.xterm').click();
    await live.keyboard.type('hostname\n');
    await poll(() => screenRows(live), (rows) => rows.includes('ct01'), 'the answer on the live terminal');
    await live.close();
    const recording = await finishedRecording(sessionId);
    assert.equal(recording.kind, 'asciicast');

    const lines = (await readFile(join(dir, `${recording.id}.cast`), 'utf8')).trim().split('\n');
    const header = JSON.parse(lines[0]!) as { version: number; width: number; height: number };
    assert.equal(header.version, 2);
    const events = lines.slice(1).map((line) => JSON.parse(line) as [number, string, string]);
    assert.ok(events.every(([t, type], i) => type === 'o' && t >= (events[i - 1]?.[0] ?? 0)), 'output events in time order');
    const output = events.map(([, , text]) => text).join('');
    assert.match(output, /hostname\r?\n/);
    assert.match(output, /ct01/);
    assert.ok(output.indexOf('ct01', output.indexOf('hostname')) > 0, 'the answer follows the command');

    for (const [name, profile] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      const page = await openPlayer(recording.id, profile);
      await controlsInView(page, profile.viewport);
      await playToEnd(page);
      assert.deepEqual(await seriousViolations(page), [], `${name}: axe-core`);
      const rows = await poll(() => screenRows(page), (r) => r.includes('ct01'), `${name}: the answer in the player`);
      assert.ok(rows.some((row) => row.endsWith('# hostname')), `${name}: the typed command in the player`);
      await page.close();
    }
  });

  it("opens from a link on the backend's panel, another site", async () => {
    assert.ok(vncRecording, 'the graphical test recorded a session');
    const link = await control('POST', `/recordings/${vncRecording}/link`);
    const url = link.body.url as string;
    const panel = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><title>Panel</title><a id="open" href="${url}">Watch the recording</a>`);
    });
    await new Promise<void>((resolve) => panel.listen(0, '127.0.0.3', resolve));
    try {
      const page = await (await fx.context(DESKTOP)).newPage();
      await page.goto(`http://127.0.0.3:${(panel.address() as { port: number }).port}/`);
      await page.click('#open');
      await page.waitForURL(new RegExp(`/player/${vncRecording}/$`));
      // Cross-site navigation, then the redirect: the player cookie still goes along (SameSite=Lax).
      await poll(() => playerState(page), (state) => state === 'paused', 'the loaded recording');
      await page.close();
    } finally {
      panel.close();
    }
  });

  it('seeks through 60 MB of JPEG rectangles at the pace noVNC decodes them (its receive queue holds 40 MiB)', async () => {
    // Tight JPEG rectangles keep noVNC waiting for the browser's image decoder: handed over at
    // once, what follows overflows its receive queue. Two JPEGs made by Chromium itself: noise
    // (large), then a red square last.
    const maker = await (await fx.context(DESKTOP)).newPage();
    const jpegs = await maker.evaluate(() => {
      const make = (paint: (ctx: { fillStyle: string; fillRect(x: number, y: number, w: number, h: number): void }) => void): string => {
        const canvas = (globalThis as unknown as { document: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): never; toDataURL(type: string, quality: number): string } } }).document.createElement('canvas');
        canvas.width = 256;
        canvas.height = 256;
        paint(canvas.getContext('2d'));
        return canvas.toDataURL('image/jpeg', 0.95).split(',')[1]!;
      };
      return {
        noise: make((ctx) => {
          for (let y = 0; y < 256; y += 2) for (let x = 0; x < 256; x += 2) {
            ctx.fillStyle = `rgb(${(x * 7 + y * 13) % 256},${(x * y) % 256},${(x * 31 + y * 17) % 256})`;
            ctx.fillRect(x, y, 2, 2);
          }
        }),
        red: make((ctx) => {
          ctx.fillStyle = 'rgb(255,0,0)';
          ctx.fillRect(0, 0, 256, 256);
        }),
      };
    });
    await maker.close();
    const tightJpegUpdate = (jpeg: Buffer, x: number, y: number): Buffer => {
      const length = jpeg.length;
      const compact = length < 0x80 ? [length] : length < 0x4000 ? [(length & 0x7f) | 0x80, length >> 7] : [(length & 0x7f) | 0x80, ((length >> 7) & 0x7f) | 0x80, length >> 14];
      const header = Buffer.alloc(4 + 12);
      header.writeUInt16BE(1, 2);
      header.writeUInt16BE(x, 4);
      header.writeUInt16BE(y, 6);
      header.writeUInt16BE(256, 8);
      header.writeUInt16BE(256, 10);
      header.writeInt32BE(7, 12);
      return Buffer.concat([header, Buffer.from([0x90, ...compact]), jpeg]);
    };
    const serverInit = Buffer.alloc(24 + 4);
    serverInit.writeUInt16BE(800, 0);
    serverInit.writeUInt16BE(600, 2);
    Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(serverInit, 4);
    serverInit.writeUInt32BE(4, 20);
    serverInit.write('jpeg', 24);
    const noise = Buffer.from(jpegs.noise, 'base64');
    const store = new RecordingStore({ dir, maxBytes: 1024 ** 3, retentionDays: 1, onError: (_what, error) => assert.fail(error) });
    const recording = store.begin('vnc', { sessionId: 'jpeg', vmid: 100 }, vncHeader(serverInit), { noteRoom: 0, closingNote: () => Buffer.alloc(0) });
    const frames = Math.ceil((60 * 1024 * 1024) / noise.length);
    // Written as a console would, in bursts the disk keeps up with: 60 MB at once, faster than any
    // disk, is what the writer stops as disk_too_slow.
    for (let i = 0; i < frames; i++) {
      assert.ok(recording.write(vncRecord(i, VncRecordType.ToBrowser, tightJpegUpdate(noise, (i * 64) % 544, (i * 32) % 344))), `frame ${i} recorded`);
      if (i % 64 === 63) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(recording.write(vncRecord(frames, VncRecordType.ToBrowser, tightJpegUpdate(Buffer.from(jpegs.red, 'base64'), 0, 0))), 'the red square recorded');
    await recording.finish();

    const page = await openPlayer(recording.id, DESKTOP);
    await seek(page, 'end');
    // noVNC has every message once the player is idle; the browser may still be decoding the last JPEGs.
    const centre = () => page.evaluate(() => [...document.querySelector('canvas')!.getContext('2d')!.getImageData(128, 128, 1, 1).data]);
    const red = (rgba: number[]) => rgba[0]! > 200 && rgba[1]! < 60 && rgba[2]! < 60;
    await poll(centre, red, 'the last rectangle (red) drawn at the centre', 30_000);
    await page.close();
  });

  it('keeps every Proxmox secret out of the recordings and out of what the player browser got, with no CSP refusal', async () => {
    const secrets = fx.sim.issuedSecrets();
    assert.ok(secrets.length >= 4, 'the simulator issued tickets and VNC passwords');
    const needles = ['vncpass', 'vncuser', '127.0.0.2', ...secrets];
    const files = await readdir(dir);
    assert.ok(files.some((f) => f.endsWith('.pvncrec')) && files.some((f) => f.endsWith('.cast')), files.join(', '));
    for (const file of files) {
      const content = await readFile(join(dir, file));
      for (const needle of needles) assert.ok(!content.includes(Buffer.from(needle, 'latin1')), `${file} holds ${needle.slice(0, 6)}…`);
    }
    for (const r of received) assert.deepEqual(leaks(r, needles, [fx.sim.port]), []);
    assert.deepEqual(problems, []);
  });
});
