import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** Bodies of /assets/ responses that are the built files byte for byte (so hold no value of a run). */
  builtAssets: string[];
  frames: Buffer[];
}

const WEB_BUILD = fileURLToPath(new URL('../../web/', import.meta.url));

function isBuiltAsset(url: string, body: Buffer): boolean {
  const { pathname } = new URL(url);
  if (!pathname.startsWith('/assets/')) return false;
  const file = join(WEB_BUILD, basename(pathname));
  return existsSync(file) && readFileSync(file).equals(body);
}

export function recordReceived(page: import('playwright-core').Page): Received {
  const received: Received = { texts: [], builtAssets: [], frames: [] };
  page.on('response', async (response) => {
    received.texts.push(`${response.status()} ${response.url()}\n${JSON.stringify(await response.allHeaders())}`);
    let body: Buffer;
    try {
      body = await response.body();
    } catch {
      return; // Redirects have no body to read.
    }
    (isBuiltAsset(response.url(), body) ? received.builtAssets : received.texts).push(body.toString('latin1'));
  });
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => received.frames.push(typeof payload === 'string' ? Buffer.from(payload) : payload));
  });
  return received;
}

/**
 * Each needle that occurs in anything received, as text or inside a frame's bytes. A port number
 * is looked for everywhere but in the built script bundles, whose many numeric constants would
 * match some ports by chance; a port cannot get into a file built before the run anyway.
 */
export function leaks(received: Received, needles: string[], ports: number[] = []): string[] {
  const found = (needle: string, texts: string[]) =>
    texts.some((text) => text.includes(needle)) || received.frames.some((frame) => frame.includes(Buffer.from(needle, 'latin1')));
  return [
    ...needles.filter((needle) => needle.length > 0 && found(needle, [...received.texts, ...received.builtAssets])),
    ...ports.map(String).filter((port) => found(port, received.texts)),
  ];
}
