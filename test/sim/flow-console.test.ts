import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { RfbTestClient } from '../helpers/rfb-client.js';
import { requireExecutable } from '../helpers/system.js';
import { apiCall, login, openConsoleWebSocket, sessionHeaders, VNCUSER_TOKEN, vncproxy, vncwebsocketPath } from './api-client.js';

const QEMU_AUTH_FAILED = 'Authentication failed\0';

/** QEMU names its desktop "QEMU (<name>)"; the builtin console may use the bare guest name. */
function desktopName(guestName: string): RegExp {
  return new RegExp(`^(${guestName}|QEMU \\(${guestName}\\))$`);
}

async function waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!test() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return test();
}

for (const backend of ['builtin', 'qemu'] as const) {
  describe(`console flow against the ${backend} backend`, () => {
    let sim: Simulator;
    before(async () => {
      if (backend === 'qemu') requireExecutable('qemu-system-x86_64', 'qemu-system-x86');
      sim = await startSimulator({ backend, durations: { listenerWaitMs: 10_000 } });
    });
    after(() => sim.stop());

    it('logs in, opens the console with the cookie, authenticates and reads ServerInit and a framebuffer update', async () => {
      const session = await login(sim, 'vncuser@pve', 'vncpass');
      const { ws, proxy } = await openConsoleWebSocket(sim, sessionHeaders(session), 'pve1', 100);
      assert.equal(ws.protocol, 'binary');
      const rfb = RfbTestClient.overWebSocket(ws);
      const result = await rfb.handshake({ password: proxy.password! });
      assert.equal(result.serverVersion, 'RFB 003.008\n');
      assert.deepEqual(result.securityTypes, [2]);
      assert.equal(result.securityResult, 0);
      assert.match(result.serverInit?.name ?? '', desktopName('web01'));
      assert.ok(rfb.width > 0 && rfb.height > 0);
      const update = await rfb.readWholeScreen(15_000);
      assert.ok(update.rects.some((r) => r.encoding === 0 && r.data.length > 0), 'raw pixels arrived');
      assert.equal(sim.stats().openWebsockets, 1);
      rfb.typeText('hi');
      assert.ok(await waitFor(() => sim.received(100).text.includes('hi'), 5000), `guest got ${JSON.stringify(sim.received(100))}`);
      if (backend === 'qemu') {
        const qemu = await sim.qemuProcess(100);
        assert.equal(qemu.name, 'web01');
        assert.equal(qemu.vncClients, 1, 'our connection is the one QEMU serves');
        assert.match(readFileSync(`/proc/${qemu.pid}/cmdline`, 'latin1'), /qemu-system-x86_64/);
      }
      ws.close();
      assert.ok(await waitFor(() => sim.stats().openWebsockets === 0, 3000));
    });

    it('does the same with the API token header', async () => {
      const { ws, proxy } = await openConsoleWebSocket(sim, { Authorization: VNCUSER_TOKEN }, 'pve2', 300);
      assert.equal(proxy.user, 'vncuser@pve!console');
      const rfb = RfbTestClient.overWebSocket(ws);
      const result = await rfb.handshake({ password: proxy.password! });
      assert.equal(result.securityResult, 0);
      assert.match(result.serverInit?.name ?? '', desktopName('app02'));
      ws.close();
    });

    it("refuses a wrong VNC password with SecurityResult 1 and QEMU's reason", async () => {
      const { ws, proxy } = await openConsoleWebSocket(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
      const wrong = String.fromCharCode(...[...proxy.password!].map((c) => (c === 'A' ? 0x42 : 0x41)));
      const result = await RfbTestClient.overWebSocket(ws).handshake({ password: wrong });
      assert.equal(result.securityResult, 1);
      assert.equal(result.reason, QEMU_AUTH_FAILED);
      ws.close();
    });

    it('lets a second vncproxy replace the password, so a first connection not yet authenticated fails', async () => {
      const first = await openConsoleWebSocket(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
      const firstRfb = RfbTestClient.overWebSocket(first.ws);
      const second = await vncproxy(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
      assert.notEqual(second.password, first.proxy.password);
      const result = await firstRfb.handshake({ password: first.proxy.password! });
      assert.equal(result.securityResult, 1);
      first.ws.close();
    });

    if (backend === 'qemu') {
      it('stops the QEMU processes it started when the simulator stops', async () => {
        await vncproxy(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
        const { pid } = await sim.qemuProcess(100);
        assert.ok(existsSync(`/proc/${pid}`));
        await sim.stop();
        assert.equal(existsSync(`/proc/${pid}`), false);
      });
    }
  });
}

describe('console flow on release 7', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ release: '7' });
  });
  after(() => sim.stop());

  it('without generate-password the first 8 characters of the ticket are the VNC password', async () => {
    const { ws, proxy } = await openConsoleWebSocket(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
    assert.equal(proxy.password, undefined);
    const result = await RfbTestClient.overWebSocket(ws).handshake({ password: proxy.ticket.slice(0, 8) });
    assert.equal(result.securityResult, 0);
    ws.close();
  });

  it('with generate-password=1 the generated password works', async () => {
    const { ws, proxy } = await openConsoleWebSocket(sim, { Authorization: VNCUSER_TOKEN }, 'pve1', 100, { websocket: '1', 'generate-password': '1' });
    const result = await RfbTestClient.overWebSocket(ws).handshake({ password: proxy.password! });
    assert.equal(result.securityResult, 0);
    ws.close();
  });
});

describe('container console flow', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator();
  });
  after(() => sim.stop());

  it("opens a container's console, and refuses a wrong password with vncterm's reason", async () => {
    const headers = { Authorization: VNCUSER_TOKEN };
    const proxy = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers, form: { websocket: '1' } });
    const { port, ticket, password, cert } = proxy.json.data;
    const url = `wss://${sim.host}:${sim.port}${vncwebsocketPath('pve1', 'lxc', 200, port, ticket)}`;
    const ws = new WebSocket(url, ['binary'], { ca: cert, headers });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const result = await RfbTestClient.overWebSocket(ws).handshake({ password });
    assert.equal(result.securityResult, 0);
    ws.close();

    const second = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers, form: { websocket: '1' } });
    const ws2 = new WebSocket(`wss://${sim.host}:${sim.port}${vncwebsocketPath('pve1', 'lxc', 200, second.json.data.port, second.json.data.ticket)}`, ['binary'], { ca: cert, headers });
    await new Promise((resolve, reject) => ws2.once('open', resolve).once('error', reject));
    const wrong = await RfbTestClient.overWebSocket(ws2).handshake({ password: 'wrongpw!' });
    assert.equal(wrong.securityResult, 1);
    assert.equal(wrong.reason, 'password check failed!');
    ws2.close();
  });
});

describe('simulator TLS', () => {
  it("is trusted through its own CA only, not another simulator's", async () => {
    const [a, b] = await Promise.all([startSimulator(), startSimulator()]);
    try {
      assert.notEqual(a.caPem, b.caPem);
      assert.match(a.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      const proxy = await vncproxy(a, { Authorization: VNCUSER_TOKEN }, 'pve1', 100);
      const url = `wss://${a.host}:${a.port}${vncwebsocketPath('pve1', 'qemu', 100, proxy.port, proxy.ticket)}`;
      const ws = new WebSocket(url, ['binary'], { ca: b.caPem, headers: { Authorization: VNCUSER_TOKEN } });
      const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
      assert.match(error.message, /certificate/i);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
