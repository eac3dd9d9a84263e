// Issue 12, finding 4: SIGTERM must end the process within drain_time, whatever HTTP connections
// are open, and a link asked for while draining is refused rather than handed out to die.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway } from '../helpers/gateway.js';
import { listeningPort, spawnGateway } from '../helpers/gateway-process.js';
import { poll } from '../helpers/poll.js';

const DRAIN_SECONDS = 1;

describe('stopping with connections open', () => {
  it('exits 0 within drain_time plus a second with an idle keep-alive connection and a slow POST open', async () => {
    const secret = randomBytes(32).toString('hex');
    const run = spawnGateway([], { PROXMOXVNC_AUTHORIZATION: secret, PROXMOXVNC_ROUTER_IP: '127.0.0.1', PROXMOXVNC_ROUTER_PORT: '0', PROXMOXVNC_DRAIN_TIME: String(DRAIN_SECONDS) });
    const { child } = run;
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    try {
      const port = await listeningPort(run);
      await poll(() => request(`http://127.0.0.1:${port}/healthz`).then((r) => r.statusCode, () => 0), (s) => s === 200, 'the gateway');
      const idle = connect(port, '127.0.0.1');
      idle.on('error', () => {});
      idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      await once(idle, 'data');
      const slow = connect(port, '127.0.0.1');
      slow.on('error', () => {});
      slow.write(`POST /create HTTP/1.1\r\nHost: x\r\nAuthorization: ${secret}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"hostn`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const signalled = Date.now();
      child.kill('SIGTERM');
      const [code] = await exited;
      const took = Date.now() - signalled;
      assert.equal(code, 0);
      assert.ok(took < (DRAIN_SECONDS + 1) * 1000, `exited after ${took} ms`);
      idle.destroy();
      slow.destroy();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('answers 503 to a /create whose body is still arriving when the drain begins', async () => {
    const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    const tg = await startTestGateway({}, sim.caPem);
    try {
      const params = { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' };
      const created = await createToken(tg, params);
      const redeemed = await redeem(created.body.url as string);
      // A viewer keeps the drain going while the request below completes.
      const viewer = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: tg.origin, cookie: redeemed.cookie! });
      assert.equal(viewer.status, 101);
      const body = JSON.stringify(params);
      const slow = connect(Number(new URL(tg.origin).port), '127.0.0.1');
      await once(slow, 'connect');
      slow.write(`POST /create HTTP/1.1\r\nHost: x\r\nAuthorization: ${tg.secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = tg.gateway.close(2_000);
      const answer = new Promise<string>((resolve) => {
        let text = '';
        slow.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          // The answer's JSON body is complete; the connection itself may stay open.
          if (text.trimEnd().endsWith('}')) resolve(text);
        });
        slow.on('close', () => resolve(text));
        slow.on('error', () => resolve(text));
      });
      slow.write(body.slice(10));
      const text = await Promise.race([answer, new Promise<string>((resolve) => setTimeout(() => resolve('(nothing within 1.5 s)'), 1500))]);
      slow.destroy();
      viewer.ws!.close();
      await closing;
      assert.match(text, /^HTTP\/1\.1 503 /, text.slice(0, 200));
      assert.match(text, /"error":"shutting_down"/);
    } finally {
      await tg.stop();
      await sim.stop();
    }
  });
});
