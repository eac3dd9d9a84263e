// Proves startNginx gives a real nginx that behaves as the README's load balancer: round robin
// without stickiness, websockets passed through, and a dead backend skipped.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { startNginx, type TestNginx } from '../helpers/nginx.js';

interface Backend {
  name: string;
  server: Server;
  origin: string;
}

async function startBackend(name: string): Promise<Backend> {
  const server = createServer((req, res) => {
    // Echoes what nginx forwarded so the test can check the proxy headers too.
    res.setHeader('x-seen-host', req.headers.host ?? '');
    res.setHeader('x-seen-forwarded-for', String(req.headers['x-forwarded-for'] ?? ''));
    res.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { name, server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let one: Backend;
let two: Backend;
let echo: WebSocketServer;
let nginx: TestNginx;

before(async () => {
  one = await startBackend('one');
  two = await startBackend('two');
  // Only `one` speaks websocket: `two` answers an upgrade as a plain GET.
  echo = new WebSocketServer({ server: one.server });
  echo.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  nginx = await startNginx([one.origin, two.origin]);
});

after(async () => {
  await nginx?.stop();
  for (const ws of echo?.clients ?? []) ws.terminate();
  echo?.close();
  for (const backend of [one, two]) {
    if (!backend?.server.listening) continue;
    backend.server.closeAllConnections();
    await new Promise((resolve) => backend.server.close(resolve));
  }
});

async function get(path = '/'): Promise<{ status: number; body: string; host: string; forwardedFor: string }> {
  const answer = await request(`${nginx.origin}${path}`);
  return {
    status: answer.statusCode,
    body: await answer.body.text(),
    host: String(answer.headers['x-seen-host']),
    forwardedFor: String(answer.headers['x-seen-forwarded-for']),
  };
}

test('the helper reports a loopback origin', () => {
  assert.equal(nginx.origin, `http://127.0.0.1:${nginx.port}`);
});

test('four GETs through nginx reach both backends, with the client Host and X-Forwarded-For', async () => {
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await get());
  for (const answer of answers) {
    assert.equal(answer.status, 200);
    assert.equal(answer.host, `127.0.0.1:${nginx.port}`);
    assert.equal(answer.forwardedFor, '127.0.0.1');
  }
  assert.deepEqual([...new Set(answers.map((a) => a.body))].sort(), ['one', 'two']);
});

/** Opens a websocket through nginx; resolves null when the upgrade landed on the backend without one. */
function openThroughNginx(): Promise<WebSocket | null> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/echo`);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, response) => {
      response.resume();
      ws.terminate();
      resolve(null);
    });
    ws.once('error', reject);
  });
}

test('a websocket echoes through nginx', async () => {
  // No stickiness: an upgrade may land on `two` first; round robin brings the next one to `one`.
  let ws: WebSocket | null = null;
  for (let attempt = 0; attempt < 4 && !ws; attempt++) ws = await openThroughNginx();
  assert.ok(ws, 'no websocket upgrade reached the backend that has one in 4 attempts');
  const replies: string[] = [];
  ws.on('message', (data) => replies.push(String(data)));
  for (const text of ['hello', 'through nginx']) {
    ws.send(text);
    await once(ws, 'message');
  }
  assert.deepEqual(replies, ['hello', 'through nginx']);
  ws.close();
  await once(ws, 'close');
});

test('with one backend closed, every request still succeeds via the other', async () => {
  two.server.closeAllConnections();
  await new Promise((resolve) => two.server.close(resolve));
  const started = Date.now();
  for (let i = 0; i < 6; i++) {
    const answer = await get();
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'one');
  }
  // proxy_next_upstream retries the refused connection at once: no request waits for a timeout.
  assert.ok(Date.now() - started < 2_000, `6 requests took ${Date.now() - started} ms`);
});
