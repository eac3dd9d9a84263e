// The `unreachable` fault: new connections are reset, or accepted and never answered, while the
// connections already open (a console, say) go on, as when pveproxy is down and its workers are not.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ClientRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request as httpsRequest } from 'node:https';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { RfbTestClient } from '../helpers/rfb-client.js';
import { apiCall, openConsoleWebSocket, VNCUSER_TOKEN } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

/** How a TLS connection attempt ends: the handshake, an error's code, or nothing by `waitMs`. */
function tryTls(sim: Simulator, waitMs: number): Promise<{ outcome: 'secure' | 'error' | 'nothing'; code?: string; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const raw = tcpConnect(sim.port, sim.host);
    raw.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // Counting what comes back on the TCP level: a TLS server answers a ClientHello at once.
    const socket = tlsConnect({ socket: raw, ca: sim.caPem, servername: 'localhost' });
    const done = (result: { outcome: 'secure' | 'error' | 'nothing'; code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...result, bytes });
    };
    const timer = setTimeout(() => done({ outcome: 'nothing' }), waitMs);
    socket.once('secureConnect', () => done({ outcome: 'secure' }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ outcome: 'error', code: err.code }));
  });
}

/** A login over `agent`: its status, or the error's code when the request failed, and whether it went on a kept-alive connection. */
function loginOver(sim: Simulator, agent: Agent): Promise<{ outcome: number | string; reused: boolean }> {
  const body = 'username=vncuser%40pve&password=vncpass';
  return new Promise((resolve) => {
    const req: ClientRequest = httpsRequest(
      { host: sim.host, port: sim.port, method: 'POST', path: '/api2/json/access/ticket', ca: sim.caPem, servername: 'localhost', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ outcome: res.statusCode ?? 0, reused: req.reusedSocket }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ outcome: err.code ?? err.message, reused: req.reusedSocket }));
    req.end(body);
  });
}

describe('the unreachable fault', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
  });
  after(() => sim.stop());

  it('refuse: every new connection is reset before TLS; an open console goes on; cleared, it answers again', async () => {
    const { ws, proxy } = await openConsoleWebSocket(sim, token, 'pve1', 100);
    const console100 = RfbTestClient.overWebSocket(ws);
    sim.setFaults({ unreachable: 'refuse' });
    try {
      const attempt = await tryTls(sim, 5000);
      assert.equal(attempt.outcome, 'error');
      assert.equal(attempt.code, 'ECONNRESET');
      assert.equal(attempt.bytes, 0, 'not a byte of TLS');
      const opened = await console100.handshake({ password: proxy.password });
      assert.equal(opened.securityResult, 0, 'the console opened before goes on');
    } finally {
      sim.setFaults({ unreachable: null });
    }
    assert.equal((await tryTls(sim, 5000)).outcome, 'secure');
    ws.close();
  });

  it('refuse: a request on a connection kept alive from before is not answered either', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await loginOver(sim, agent)).outcome, 200);
      sim.setFaults({ unreachable: 'refuse' });
      try {
        assert.deepEqual(await loginOver(sim, agent), { outcome: 'ECONNRESET', reused: true });
      } finally {
        sim.setFaults({ unreachable: null });
      }
      assert.equal((await loginOver(sim, agent)).outcome, 200);
    } finally {
      agent.destroy();
    }
  });

  it('drop: a new connection is accepted and never answered, not even its TLS handshake; stop() closes it', async () => {
    sim.setFaults({ unreachable: 'drop' });
    try {
      const raw = tcpConnect(sim.port, sim.host);
      await once(raw, 'connect');
      let received = 0;
      raw.on('data', (chunk: Buffer) => (received += chunk.length));
      const attempt = await tryTls(sim, 1500);
      assert.equal(attempt.outcome, 'nothing');
      assert.equal(attempt.bytes, 0);
      assert.equal(received, 0);
      // The API answers no one meanwhile: an HTTPS call gets no answer either.
      const call = apiCall(sim, 'GET', '/version', { headers: token }).then(
        () => 'answered',
        () => 'failed',
      );
      const waited = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve('no answer'), 1500))]);
      assert.equal(waited, 'no answer');
      sim.setFaults({ unreachable: null });
      assert.equal((await tryTls(sim, 5000)).outcome, 'secure', 'new connections get through again');
      // The held connections stay as they were until the simulator stops.
      const closed = once(raw, 'close');
      await sim.stop();
      await closed;
      assert.equal(await call, 'failed');
    } finally {
      sim.setFaults({ unreachable: null });
    }
  });
});
