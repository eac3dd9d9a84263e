// A stand-in gateway for the console pages' own behaviour: the real page HTML and bundles, a state
// route and a console websocket that do what a test scripts (close with a code, refuse inside the
// RFB handshake, serve a tiny RFB screen or a terminal). Every outcome of the shared table can
// then be met exactly, without arranging Redis, a stopping replica or a broken network.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { pickLanguage } from '../../src/console/i18n/index.js';
import { CONSOLE_CSP, renderConsolePage } from '../../src/console/pages.js';
import { withStyleNonce } from '../../src/http/security-headers.js';
import { ByteReader } from '../../src/console/rfb/byte-reader.js';
import { negotiateBrowserSecurity, securityResultFailure, securityResultOk } from '../../src/console/rfb/downstream.js';
import { readClientInit } from '../../src/console/rfb/init.js';
import { freePort } from '../helpers/gateway.js';

export const SESSION_ID = 'harness-session-0123456789abcdefghijklmnopq';
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** What one console connection does, given its websocket. */
export type SocketScript = (ws: WebSocket) => void | Promise<void>;

/** The state route's answer, or 'down' for a gateway that cannot be reached. */
export type StateAnswer = { status: number; body: Record<string, unknown> } | 'down';

export interface PageHarness {
  origin: string;
  pageUrl(kind: 'novnc' | 'xterm', extra?: { title?: string; viewOnly?: boolean; lang?: string }): string;
  /** Scripts for the next connections, in order; the last one repeats. */
  scripts: SocketScript[];
  state: StateAnswer;
  /** Console websockets opened so far. */
  connections: number;
  /** State route requests so far, with their query. */
  stateRequests: string[];
  /** What the browser sent over the websockets (RFB client messages or termproxy input). */
  received: Buffer[];
  close(): Promise<void>;
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** ServerInit of a 640x400 true-colour screen named `name`, then one black rectangle over it. */
function serverInit(name: string): Buffer {
  const pixelFormat = Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
  const nameBytes = Buffer.from(name);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(nameBytes.length);
  return Buffer.concat([u16(640), u16(400), pixelFormat, length, nameBytes]);
}

function reader(ws: WebSocket): ByteReader {
  const bytes = new ByteReader();
  ws.on('message', (data: RawData) => bytes.push(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
  ws.on('close', () => bytes.fail());
  return bytes;
}

/** Closes at once with `code` (1006 is a dropped connection: terminated without a Close frame). */
export const closeWith =
  (code: number, reason = ''): SocketScript =>
  (ws) => {
    if (code === 1006) ws.terminate();
    else ws.close(code, reason);
  };

/** Refuses inside the RFB handshake with `reason`, then closes as the gateway's bridge does. */
export const refuseRfb =
  (reason: string): SocketScript =>
  async (ws) => {
    const send = (b: Buffer) => ws.send(b);
    const failure = securityResultFailure(await negotiateBrowserSecurity(reader(ws), send), reason);
    if (failure) send(failure);
    ws.close(1000, 'console unavailable');
  };

/** A connected RFB console (no pixels beyond ServerInit); `after` may end it later. */
export const serveRfb =
  (after?: (ws: WebSocket) => void): SocketScript =>
  async (ws) => {
    const bytes = reader(ws);
    const send = (b: Buffer) => ws.send(b);
    const version = await negotiateBrowserSecurity(bytes, send);
    send(securityResultOk(version));
    await readClientInit(bytes);
    send(serverInit('harness'));
    after?.(ws);
  };

/** A logged-in terminal, as the gateway's text bridge signals it (one empty message), with a prompt. */
export const serveTerminal =
  (after?: (ws: WebSocket) => void, output = 'harness# '): SocketScript =>
  (ws) => {
    ws.send(Buffer.alloc(0));
    ws.send(Buffer.from(output));
    after?.(ws);
  };

export async function startPageHarness(): Promise<PageHarness> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let kindOf: Record<string, { kind: 'novnc' | 'xterm'; title: string; viewOnly: boolean; lang?: string }> = {};
  const harness: PageHarness = {
    origin,
    pageUrl(kind, extra = {}) {
      const key = `p${Object.keys(kindOf).length}`;
      kindOf = { ...kindOf, [key]: { kind, title: extra.title ?? 'web01', viewOnly: extra.viewOnly ?? false, lang: extra.lang } };
      return `${origin}/console/${SESSION_ID}/?page=${key}`;
    },
    scripts: [closeWith(1006)],
    state: { status: 200, body: { state: 'active', title: 'web01' } },
    connections: 0,
    stateRequests: [],
    received: [],
    close: async () => {
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', origin);
    if (url.pathname === `/console/${SESSION_ID}/`) {
      const page = kindOf[url.searchParams.get('page') ?? ''] ?? { kind: 'novnc', title: 'web01', viewOnly: false };
      const accept = request.headers['accept-language'];
      // The gateway's own policy, nonce and all: the pages must work under it.
      const nonce = randomBytes(16).toString('base64');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': withStyleNonce(CONSOLE_CSP([]), nonce) });
      response.end(
        renderConsolePage({
          styleNonce: nonce,
          sessionId: SESSION_ID,
          title: page.title,
          consoleKind: page.kind,
          viewOnly: page.viewOnly,
          assetBase: '/assets/',
          lang: pickLanguage(page.lang, typeof accept === 'string' ? accept : undefined),
        }),
      );
      return;
    }
    if (url.pathname === `/console/${SESSION_ID}/state`) {
      harness.stateRequests.push(url.search);
      const answer = harness.state;
      if (answer === 'down') {
        request.socket.destroy();
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
      return;
    }
    if (url.pathname.startsWith('/assets/')) {
      try {
        const body = await readFile(join(WEB_ROOT, url.pathname.slice('/assets/'.length).replace(/\.\./g, '')));
        response.writeHead(200, { 'content-type': TYPES[extname(url.pathname)] ?? 'application/octet-stream' });
        response.end(body);
      } catch {
        response.writeHead(404).end();
      }
      return;
    }
    response.writeHead(404).end();
  };

  const server: Server = createServer((request, response) => void serve(request, response));
  const wss = new WebSocketServer({ server, path: `/console/${SESSION_ID}/websocket` });
  wss.on('connection', (ws) => {
    const script = harness.scripts[Math.min(harness.connections, harness.scripts.length - 1)]!;
    harness.connections++;
    ws.on('message', (data: RawData) => harness.received.push(Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.from(data as ArrayBuffer)));
    ws.on('error', () => {});
    void Promise.resolve(script(ws)).catch(() => ws.terminate());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return harness;
}
