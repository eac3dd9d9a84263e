// Issue 12, finding 3: half-open connections from one client must not use up the gateway's file
// descriptors, and a refused websocket upgrade is closed, not left half-open.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { startSimulator } from '../../sim/index.js';
import { createToken, freePortRange, redeem, startTestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';

function openFrom(localAddress: string, port: number, allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closedSoon = (socket: Socket, ms = 2_000) =>
  new Promise<boolean>((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

describe('connection limits', () => {
  it('closes connections past max_connections_per_address at once, logs it once, and others are served', async () => {
    const tg = await startTestGateway({ PROXMOXVNC_MAX_CONNECTIONS_PER_ADDRESS: '5' });
    const port = Number(new URL(tg.origin).port);
    const sockets: Socket[] = [];
    const bystander = new Agent({ localAddress: '127.0.0.6' });
    try {
      for (let i = 0; i < 5; i++) sockets.push(await openFrom('127.0.0.5', port));
      const extra = await Promise.all(Array.from({ length: 3 }, () => openFrom('127.0.0.5', port)));
      sockets.push(...extra);
      for (const socket of extra) {
        socket.on('error', () => {});
        assert.equal(await closedSoon(socket), true, 'a connection over the cap is closed');
      }
      for (const socket of sockets.slice(0, 5)) assert.equal(socket.destroyed, false, 'the first five stay');
      const health = await request(`${tg.origin}/healthz`, { dispatcher: bystander });
      assert.equal(health.statusCode, 200);
      await health.body.dump();
      await poll(async () => tg.logs.filter((l) => l.includes('too many open from this address')).length, (n) => n === 1, 'one log line');
      // Once some close, the address may connect again.
      sockets[0]!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const again = await openFrom('127.0.0.5', port);
      sockets.push(again);
      assert.equal(await closedSoon(again, 300), false);
    } finally {
      for (const socket of sockets) socket.destroy();
      await bystander.close();
      await tg.stop();
    }
  });

  it('caps open connections in all with max_connections', async () => {
    const tg = await startTestGateway({ PROXMOXVNC_MAX_CONNECTIONS: '10', PROXMOXVNC_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    const port = Number(new URL(tg.origin).port);
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) sockets.push(await openFrom(`127.0.1.${i + 1}`, port));
      const over = await openFrom('127.0.1.100', port);
      over.on('error', () => {});
      sockets.push(over);
      assert.equal(await closedSoon(over), true);
      await poll(async () => tg.logs.some((l) => l.includes('max_connections reached')), Boolean, 'the log line');
    } finally {
      for (const socket of sockets) socket.destroy();
      await tg.stop();
    }
  });

  it('closes a refused websocket upgrade once the answer is written', async () => {
    const tg = await startTestGateway();
    const port = Number(new URL(tg.origin).port);
    try {
      // Half-open on our side, as an attacker's client would stay: only the gateway can end it.
      const socket = await openFrom('127.0.0.1', port, true);
      socket.on('error', () => {});
      const answered = once(socket, 'data');
      socket.write(`GET /console/${'A'.repeat(22)}/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n`);
      assert.match(String((await answered)[0]), /^HTTP\/1\.1 403 /);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A gateway still reading takes this in silence; a closed socket answers it with a reset.
      socket.write('more bytes after the refusal\r\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.write('and more\r\n');
      assert.equal(await closedSoon(socket), true, 'the gateway closed the connection, not only its side');
    } finally {
      await tg.stop();
    }
  });

  it('answers a request whose headers never finish with 408 once the 15 s headers timeout is up, not up to 30 s later', { timeout: 60_000 }, async () => {
    const tg = await startTestGateway();
    const port = Number(new URL(tg.origin).port);
    try {
      const socket = await openFrom('127.0.0.1', port, true);
      socket.on('error', () => {});
      const started = Date.now();
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        // Half-open on our side: the gateway's close shows as the end of what it sends.
        socket.once('end', () => resolve(text));
      });
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const text = await answer;
      const seconds = (Date.now() - started) / 1000;
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /"error":"request_timeout"/);
      // Node checks timeouts every 30 s by default, which let a stalled request live 41 to 48 s.
      assert.ok(seconds >= 14.5 && seconds < 18, `closed after ${seconds} s`);
    } finally {
      await tg.stop();
    }
  });

  it("counts a session port's connections with the main port's", async () => {
    const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    const range = await freePortRange(1);
    const tg = await startTestGateway({ PROXMOXVNC_SESSION_PORTS: `${range.from}-${range.to}`, PROXMOXVNC_MAX_CONNECTIONS_PER_ADDRESS: '4' }, sim.caPem);
    const port = Number(new URL(tg.origin).port);
    const sockets: Socket[] = [];
    try {
      const created = await createToken(tg, { hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' });
      const { location } = await redeem(created.body.url as string);
      const sessionPort = Number(new URL(location!).port);
      assert.equal(sessionPort, range.from);
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 2; i++) sockets.push(await openFrom('127.0.0.7', port));
      for (let i = 0; i < 2; i++) sockets.push(await openFrom('127.0.0.7', sessionPort));
      for (const socket of sockets) assert.equal(await closedSoon(socket, 200), false, 'four in all are allowed');
      const over = await openFrom('127.0.0.7', sessionPort);
      over.on('error', () => {});
      sockets.push(over);
      assert.equal(await closedSoon(over), true, 'the fifth, on the session port, is over the cap');
      await poll(async () => tg.logs.filter((l) => l.includes('too many open from this address')).length, (n) => n === 1, 'one log line');
    } finally {
      for (const socket of sockets) socket.destroy();
      await tg.stop();
      await sim.stop();
    }
  });
});
