import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { openConsoleSocket, redeem } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

/**
 * Issue 12, findings 1 and 2: neither a refused request nor one console link may take the event
 * loop from everyone else.
 */
describe('floods from one browser or one address', () => {
  const fx = useSimAndGateway({ PROXMOXVNC_BROWSER_MESSAGES_PER_SECOND: '200', PROXMOXVNC_CLIPBOARD_MAX_BYTES: '4096' }, { backend: 'builtin' });

  const openConsole = async () => {
    const redeemed = await redeem(await fx.link());
    const wsUrl = `${fx.tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`;
    const opened = await openConsoleSocket(wsUrl, { origin: fx.tg.origin, cookie: redeemed.cookie! });
    assert.equal(opened.status, 101);
    const closed = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    return { client: opened.client!, ws: opened.ws!, wsUrl, cookie: redeemed.cookie!, closed };
  };

  it('closes with 1008 a browser that sends more messages a second than its budget, and the session stays usable', async () => {
    const healthy = await openConsole();
    assert.equal((await healthy.client.handshake({})).securityResult, 0);
    const flood = await openConsole();
    assert.equal((await flood.client.handshake({})).securityResult, 0);
    // A pointer event, a byte at a time: 2,000 frames within a moment.
    const pointer = Buffer.from([5, 0, 0, 10, 0, 10]);
    for (let i = 0; i < 2000 && flood.ws.readyState === WebSocket.OPEN; i++) flood.ws.send(pointer.subarray(i % 6, (i % 6) + 1));
    assert.equal(await flood.closed, 1008);

    healthy.client.typeText('unaffected');
    await poll(async () => fx.sim.received(100).text, (text) => text.includes('unaffected'), 'keys of the other console at the guest');
    // The flooding page may reconnect: it was its connection that was cut, not its session.
    const again = await openConsoleSocket(flood.wsUrl, { origin: fx.tg.origin, cookie: flood.cookie });
    assert.equal(again.status, 101);
    assert.equal((await again.client!.handshake({})).securityResult, 0);
    again.ws!.close();
    healthy.ws.close();
  });

  it('closes with 1008 a browser whose clipboard text is over clipboard_max_bytes, before it arrives', async () => {
    const opened = await openConsole();
    assert.equal((await opened.client.handshake({})).securityResult, 0);
    const header = Buffer.alloc(8);
    header[0] = 6;
    header.writeInt32BE(1024 * 1024, 4);
    opened.ws.send(header);
    assert.equal(await opened.closed, 1008);
  });

  it('writes one refusal line per client address for a burst of foreign-origin upgrades, each line bounded', async () => {
    const before = fx.tg.logs.length;
    const origin = `https://${'a'.repeat(15_000)}.example`;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => openConsoleSocket(`${fx.tg.origin.replace('http:', 'ws:')}/console/${'A'.repeat(22)}/websocket`, { origin }).then((r) => r.status)),
    );
    assert.deepEqual(new Set(statuses), new Set([403]));
    const refusals = fx.tg.logs.slice(before).filter((line) => line.includes('foreign origin refused'));
    assert.equal(refusals.length, 1, refusals.join('\n').slice(0, 500));
    assert.ok(refusals[0]!.length < 2000, `a line of ${refusals[0]!.length} characters`);
  });
});
