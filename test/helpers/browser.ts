import { chromium, type Browser } from 'playwright-core';
import { requireExecutable } from './system.js';

/** Without the background-networking switches Chromium tries to reach the network (TRAPS.md). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium through playwright-core; `launch()` gives every run a fresh temporary profile. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireExecutable('chromium', 'chromium');
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/** What a real browser received: every HTTP response (headers and body) and websocket frame. */
export interface Received {
  texts: string[];
  frames: Buffer[];
}

export function recordReceived(page: import('playwright-core').Page): Received {
  const received: Received = { texts: [], frames: [] };
  page.on('response', async (response) => {
    received.texts.push(`${response.status()} ${response.url()}\n${JSON.stringify(await response.allHeaders())}`);
    try {
      received.texts.push((await response.body()).toString('latin1'));
    } catch {
      // Redirects have no body to read.
    }
  });
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => received.frames.push(typeof payload === 'string' ? Buffer.from(payload) : payload));
  });
  return received;
}

/** Each needle that occurs in anything received, as text or inside a frame's bytes. */
export function leaks(received: Received, needles: string[]): string[] {
  return needles.filter(
    (needle) =>
      needle.length > 0 &&
      (received.texts.some((text) => text.includes(needle)) ||
        received.frames.some((frame) => frame.includes(Buffer.from(needle, 'latin1')))),
  );
}
