// xterm.js consoles end to end through the gateway against the simulator's termproxy: a VM's
// serial port and a container's console, input, resizes, view-only, the secrets that must stay
// in the gateway, and API tokens on releases that refuse them at the terminal's login.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import type { Simulator } from '../../sim/index.js';
import { createToken, redeem, type TestGateway } from '../helpers/gateway.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

const PASSWORD = { username: 'vncuser@pve', password: 'vncpass' };
const API_TOKEN = { api_token: 'vncuser@pve!console=11111111-2222-3333-4444-555555555555' };

interface TerminalClient {
  ws: WebSocket;
  frames: Buffer[];
  /** Everything received so far, as text. */
  text(): string;
  closed: Promise<{ code: number; reason: string }>;
  send(text: string): void;
}

async function until<T>(read: () => T, ok: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function input(text: string): string {
  return `0:${Buffer.byteLength(text)}:${text}`;
}

async function statusOf(tg: TestGateway, sessionId: string): Promise<Record<string, unknown>> {
  const answer = await request(`${tg.origin}/status`, { headers: { authorization: tg.secret } });
  const body = (await answer.body.json()) as { sessions: Array<Record<string, unknown>> };
  const entry = body.sessions.find((s) => s.session_id === sessionId);
  assert.ok(entry, `session ${sessionId} in /status`);
  return entry;
}

/** The console websocket of a session, as the page opens it (cookie and Origin). */
async function connect(tg: TestGateway, sessionId: string, cookie: string): Promise<TerminalClient> {
  const ws = new WebSocket(`${tg.origin.replace(/^http/, 'ws')}/console/${sessionId}/websocket`, { headers: { cookie, origin: tg.origin } });
  ws.on('error', () => {});
  const frames: Buffer[] = [];
  ws.on('message', (data) => frames.push(data as Buffer));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await once(ws, 'open');
  return { ws, frames, closed, text: () => Buffer.concat(frames).toString('utf8'), send: (text) => ws.send(Buffer.from(text)) };
}

async function newSession(tg: TestGateway, sim: Simulator, params: Record<string, unknown>): Promise<{ sessionId: string; cookie: string }> {
  const created = await createToken(tg, { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', console: 'xterm', ...params });
  assert.equal(created.statusCode, 200, JSON.stringify(created.body));
  const redeemed = await redeem(created.body.url as string);
  assert.equal(redeemed.statusCode, 302);
  return { sessionId: /\/console\/([^/]+)\/$/.exec(redeemed.location!)![1]!, cookie: redeemed.cookie! };
}

async function openTerminal(tg: TestGateway, sim: Simulator, params: Record<string, unknown>): Promise<TerminalClient> {
  const { sessionId, cookie } = await newSession(tg, sim, params);
  return connect(tg, sessionId, cookie);
}

describe('xterm consoles through the gateway (simulator, current release)', () => {
  const fx = useSimAndGateway({}, { durations: { loginFailureDelayMs: 50 } });

  test("a VM's serial port: prompt, a command and its answer, a resize", async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...PASSWORD, vmid: '100' });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    assert.equal(term.frames[0]!.length, 0, 'the first message is the empty ready signal');
    term.send(input('hostname\r'));
    await until(() => term.text(), (t) => /hostname\r\nweb01\r\n/.test(t), "the command's answer");
    // A resize cut across two frames still reaches the terminal as one message.
    term.send('1:132:');
    term.send('43:');
    await until(() => fx.sim.terminal(100).resizes, (r) => r.some((s) => s.cols === 132 && s.rows === 43), 'the resize at the guest');
    assert.ok(fx.sim.terminal(100).input.includes('hostname\r'));
    term.ws.close();
    await term.closed;
  });

  test("a container's console", async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...PASSWORD, vmid: '200' });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    term.send(input('hostname\r'));
    await until(() => term.text(), (t) => /hostname\r\nct01\r\n/.test(t), "the command's answer");
    term.ws.close();
  });

  test('an API token works on current releases; neither termproxy user nor ticket reach the browser', async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...API_TOKEN, vmid: '100' });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    term.send(input('hostname\r'));
    await until(() => term.text(), (t) => /hostname\r\nweb01\r\n/.test(t), "the command's answer");
    const received = Buffer.concat(term.frames);
    for (const secret of fx.sim.issuedSecrets()) assert.ok(!received.includes(Buffer.from(secret)), 'no ticket in what the browser got');
    for (const needle of ['vncuser', 'PVEVNC', '11111111-2222']) assert.ok(!received.includes(Buffer.from(needle)), needle);
    term.ws.close();
  });

  test('a view-only viewer cannot type, but resizes', async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...PASSWORD, vmid: '200', view_only: true });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    term.send(input('echo view-only-typed\r'));
    term.send('1:77:21:');
    await until(() => fx.sim.terminal(200).resizes, (r) => r.some((s) => s.cols === 77 && s.rows === 21), 'the resize');
    assert.ok(!fx.sim.terminal(200).input.includes('view-only-typed'));
    term.ws.close();
  });

  test('malformed input closes the connection with 1008; the session stays usable', async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...PASSWORD, vmid: '100' });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    term.send('0:x:');
    assert.equal((await term.closed).code, 1008);
  });

  test('a stopped guest: the browser is told why, with no Proxmox detail; /status records it', async () => {
    const { sessionId, cookie } = await newSession(fx.tg, fx.sim, { ...PASSWORD, vmid: '100' });
    const guest = fx.sim.inventory.guests.find((g) => g.vmid === 100)!;
    guest.status = 'stopped';
    try {
      const term = await connect(fx.tg, sessionId, cookie);
      assert.deepEqual(await term.closed, { code: 4002, reason: 'The server is not running. Start it from your control panel, then reconnect.' });
      assert.deepEqual(term.frames, []);
      assert.equal((await statusOf(fx.tg, sessionId)).last_error, 'guest_not_running');
    } finally {
      guest.status = 'running';
    }
  });
});

describe('xterm consoles with API tokens on a release that refuses them (PVE 7)', () => {
  const fx = useSimAndGateway({}, { release: '7', durations: { loginFailureDelayMs: 50 } });

  test('/create tries the terminal login and answers 502 xterm_requires_password', async () => {
    const created = await createToken(fx.tg, { hostname: '127.0.0.2', port: String(fx.sim.port), node: 'pve1', console: 'xterm', vmid: '100', ...API_TOKEN });
    assert.equal(created.statusCode, 502, JSON.stringify(created.body));
    assert.equal(created.body.error, 'xterm_requires_password');
    assert.match(created.body.message as string, /password/);
    assert.ok(!JSON.stringify(created.body).includes('11111111-2222'), 'the secret is not echoed');
  });

  test('with validation off, the viewer gets a clear reason and /status the code', async () => {
    const { sessionId, cookie } = await newSession(fx.tg, fx.sim, { vmid: '100', validate: false, ...API_TOKEN });
    const term = await connect(fx.tg, sessionId, cookie);
    const closed = await term.closed;
    assert.equal(closed.code, 4002);
    assert.match(closed.reason, /not available/);
    assert.ok(Buffer.byteLength(closed.reason) <= 123);
    assert.deepEqual(term.frames, []);
    assert.equal((await statusOf(fx.tg, sessionId)).last_error, 'xterm_requires_password');
  });

  test('a password works on the same release', async () => {
    const term = await openTerminal(fx.tg, fx.sim, { ...PASSWORD, vmid: '200' });
    await until(() => term.frames.length, (n) => n > 0, 'the ready signal');
    term.send(input('hostname\r'));
    await until(() => term.text(), (t) => /hostname\r\nct01\r\n/.test(t), "the command's answer");
    term.ws.close();
  });
});
