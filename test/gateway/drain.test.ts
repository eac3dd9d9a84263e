// Shutting down (what SIGTERM does, with drain_time): no new connections, open consoles keep
// working until the drain time is up or their viewers leave, then they are told the session ended.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { SESSION_ENDED_CLOSE_CODE } from '../../src/sessions/local-viewers.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, statusOrErrorCode, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import type { RfbTestClient } from '../helpers/rfb-client.js';

interface Viewer {
  client: RfbTestClient;
  ws: WebSocket;
  closed: Promise<{ code: number; at: number }>;
}

describe('draining the gateway', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
  });
  after(async () => {
    await sim?.stop();
  });

  async function openViewer(tg: TestGateway): Promise<Viewer> {
    const created = await createToken(tg, { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(created.body.url as string);
    const { status, client, ws } = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: tg.origin, cookie: redeemed.cookie as string });
    assert.ok(status === 101 && client && ws, `the console websocket opened (${status})`);
    const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
    const result = await client.handshake({});
    assert.equal(result.securityResult, 0);
    return { client, ws, closed };
  }

  it('refuses newcomers, keeps open consoles working for the drain time, then ends them', async () => {
    const tg = await startTestGateway({}, sim.caPem);
    const drainMs = 3_000;
    try {
      const viewer = await openViewer(tg);
      const startedAt = Date.now();
      const closing = tg.gateway.close(drainMs);

      assert.notEqual(await statusOrErrorCode(`${tg.origin}/healthz`), 200, 'a new request is not served');

      viewer.client.typeText('draining');
      await poll(async () => sim.received(100).text, (text) => text.includes('draining'), 'keys typed during the drain at the guest', 5_000);

      const { code, at } = await viewer.closed;
      assert.equal(code, SESSION_ENDED_CLOSE_CODE, 'the viewer is told its session ended');
      assert.ok(at - startedAt >= drainMs - 500, `the console stayed open for the drain time (${at - startedAt} ms)`);
      await closing;
    } finally {
      await tg.stop();
    }
  });

  it('ends the drain as soon as the last viewer has left', async () => {
    const tg = await startTestGateway({}, sim.caPem);
    const drainMs = 60_000;
    try {
      const viewer = await openViewer(tg);
      const startedAt = Date.now();
      const closing = tg.gateway.close(drainMs);
      setTimeout(() => viewer.ws.close(1000), 300);
      await closing;
      assert.ok(Date.now() - startedAt < drainMs / 2, `the gateway closed once nobody watched (${Date.now() - startedAt} ms), not after the drain time`);
    } finally {
      await tg.stop();
    }
  });
});
