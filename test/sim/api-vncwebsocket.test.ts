import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { apiCall, forgeSignature, login, rawConsole, rawRequest, readUntilClose, sessionHeaders, upgradeHeaders, VNCUSER_TOKEN, vncproxy, vncwebsocketPath } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

function expectAnswer(answer: Awaited<ReturnType<typeof rawRequest>>) {
  assert.equal(answer.kind, 'answer', `expected an HTTP answer, got ${answer.kind}`);
  return answer as Extract<typeof answer, { kind: 'answer' }>;
}

describe('vncwebsocket on release current', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ durations: { listenerWaitMs: 1000, hungSocketCloseMs: 2500, loginFailureDelayMs: 300 } });
  });
  after(() => sim.stop());

  it('answers the port as JSON without an Upgrade header', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    const res = await apiCall(sim, 'GET', vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket).slice('/api2/json'.length), { headers: token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { data: { port: String(proxy.port) } });
  });

  // pve-common's PVE::Ticket::verify_rsa_ticket raises "permission denied - invalid $prefix ticket"
  // with code 401 inside the vncwebsocket handler, so pve-http-server's AnyEvent.pm formats it as
  // JSON ({"data":null} plus, since libpve-http-server-perl 5.2.0, "message") and, as for every
  // 401 ("always delay unauthorized calls by 3 seconds"), answers late.
  it('refuses a bad ticket, a ticket for another guest or identity, and another port with a delayed 401, a JSON body and no upgrade', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    const other = await vncproxy(sim, token, 'pve2', 300);
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const cases: [string, Record<string, string>][] = [
      [vncwebsocketPath('pve1', 'qemu', 100, proxy.port, forgeSignature(proxy.ticket)), token],
      [vncwebsocketPath('pve1', 'qemu', 100, proxy.port, other.ticket), token],
      [vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket), sessionHeaders(session)],
      [vncwebsocketPath('pve1', 'qemu', 100, Number(proxy.port) + 1, proxy.ticket), token],
    ];
    for (const [path, auth] of cases) {
      const started = Date.now();
      const answer = expectAnswer(await rawRequest(sim, path, { ...upgradeHeaders(), ...auth }, 3000));
      assert.ok(Date.now() - started >= 280, `the 401 is delayed: ${path}`);
      assert.equal(answer.status, 401, path);
      assert.equal(answer.reason, 'permission denied - invalid PVEVNC ticket');
      assert.equal(answer.headers.upgrade, undefined);
      const { bytes } = await readUntilClose(answer.socket, answer.rest, 2000);
      assert.deepEqual(JSON.parse(bytes.toString()), { data: null, message: 'permission denied - invalid PVEVNC ticket\n' });
      answer.socket.destroy();
    }
  });

  it('checks the websocket version and key', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    const path = vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket);
    const version = expectAnswer(await rawRequest(sim, path, { ...upgradeHeaders({ 'Sec-WebSocket-Version': '8' }), ...token }, 3000));
    assert.equal(version.status, 500);
    assert.match(version.reason, /^unsupported websocket-version/);
    version.socket.destroy();
    const headers = { ...upgradeHeaders(), ...token } as Record<string, string>;
    delete headers['Sec-WebSocket-Key'];
    const key = expectAnswer(await rawRequest(sim, path, headers, 3000));
    assert.equal(key.status, 500);
    assert.equal(key.reason, 'missing websocket-key');
    key.socket.destroy();
  });

  it('echoes Sec-WebSocket-Protocol verbatim and negotiates no extension', async () => {
    for (const protocol of ['binary', 'binary, base64']) {
      const answer = expectAnswer(await rawConsole(sim, token, 'pve1', 100, { 'Sec-WebSocket-Protocol': protocol, 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }));
      assert.equal(answer.status, 101);
      assert.equal(answer.headers['sec-websocket-protocol'], protocol);
      assert.equal(answer.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      assert.equal(answer.headers['sec-websocket-extensions'], undefined);
      answer.socket.destroy();
    }
    const none = expectAnswer(await rawConsole(sim, token, 'pve1', 100));
    assert.equal(none.headers['sec-websocket-protocol'], undefined);
    none.socket.destroy();
  });

  it('gives no HTTP answer at all when the listener was already used', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    const path = vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket);
    const first = expectAnswer(await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 3000));
    assert.equal(first.status, 101);
    const started = Date.now();
    const reused = await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 1500);
    assert.equal(reused.kind, 'timeout');
    assert.ok(Date.now() - started >= 1400);
    first.socket.destroy();
  });

  it('gives no HTTP answer once the listener wait is over, and closes that socket later', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    await new Promise((r) => setTimeout(r, 1200));
    const path = vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket);
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 1500)).kind, 'timeout');
    // hungSocketCloseMs (2.5 s) later the simulator drops it without a word.
    const started = Date.now();
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 6000)).kind, 'closed');
    assert.ok(Date.now() - started >= 2000);
  });

  it('upgrades a stopped VM and then closes without a single byte', async () => {
    const answer = expectAnswer(await rawConsole(sim, token, 'pve1', 101));
    assert.equal(answer.status, 101);
    const { bytes, timedOut } = await readUntilClose(answer.socket, answer.rest, 3000);
    assert.equal(timedOut, false);
    assert.equal(bytes.length, 0);
  });

  it('cuts an open console when its guest stops in the inventory', async () => {
    const answer = expectAnswer(await rawConsole(sim, token, 'pve2', 300));
    assert.equal(answer.status, 101);
    assert.equal(sim.stats().openWebsockets, 1);
    const guest = sim.inventory.guests.find((g) => g.vmid === 300)!;
    guest.status = 'stopped';
    try {
      const { timedOut } = await readUntilClose(answer.socket, answer.rest, 3000);
      assert.equal(timedOut, false);
    } finally {
      guest.status = 'running';
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sim.stats().openWebsockets, 0);
  });
});

describe('vncwebsocket on release 7', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ release: '7', durations: { listenerWaitMs: 4000 } });
  });
  after(() => sim.stop());

  it('does not bind the ticket to the port: another port reaches no listener and hangs', async () => {
    const proxy = await vncproxy(sim, token, 'pve1', 100);
    const path = vncwebsocketPath('pve1', 'qemu', 100, Number(proxy.port) + 1, proxy.ticket);
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 1500)).kind, 'timeout');
    const right = expectAnswer(await rawRequest(sim, vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket), { ...upgradeHeaders(), ...token }, 3000));
    assert.equal(right.status, 101);
    right.socket.destroy();
  });
});
