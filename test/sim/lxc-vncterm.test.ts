// Container consoles (noVNC): vncproxy starts a vncterm, a text terminal drawn into an RFB
// framebuffer, with vncterm's password rules, several viewers, and its lifetime.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { RfbTestClient, pixelRgb, type Rect } from '../helpers/rfb-client.js';
import { apiCall, rawRequest, upgradeHeaders, VNCUSER_TOKEN, vncwebsocketPath } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };
const CELL_HEIGHT = 16;

interface ProxyAnswer {
  port: number;
  ticket: string;
  password: string;
  cert: string;
}

async function vncproxy(sim: Simulator, type: 'lxc' | 'qemu', vmid: number, form: Record<string, string> = {}): Promise<ProxyAnswer> {
  const res = await apiCall(sim, 'POST', `/nodes/pve1/${type}/${vmid}/vncproxy`, { headers: token, form: { websocket: '1', ...form } });
  assert.equal(res.status, 200, `${res.status} ${res.reason}`);
  return res.json.data;
}

async function openWs(sim: Simulator, type: 'lxc' | 'qemu', vmid: number, proxy: ProxyAnswer): Promise<WebSocket> {
  const ws = new WebSocket(`wss://${sim.host}:${sim.port}${vncwebsocketPath('pve1', type, vmid, proxy.port, proxy.ticket)}`, ['binary'], { ca: proxy.cert, headers: token, handshakeTimeout: 3000 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

async function viewer(sim: Simulator, proxy: ProxyAnswer, type: 'lxc' | 'qemu' = 'lxc', vmid = 200): Promise<RfbTestClient> {
  const client = RfbTestClient.overWebSocket(await openWs(sim, type, vmid, proxy));
  const result = await client.handshake({ password: proxy.password });
  assert.equal(result.securityResult, 0, result.reason);
  return client;
}

async function fullScreen(client: RfbTestClient): Promise<Rect> {
  client.requestUpdate(false, 0, 0, client.width, client.height);
  const { rects } = await client.readFramebufferUpdate();
  const rect = rects.find((r) => r.encoding === 0 && r.w === client.width && r.h === client.height);
  assert.ok(rect, 'a full-screen raw rectangle');
  return rect;
}

/** Pixels that are not the black background within one text row of a full-screen rectangle. */
function inkInRow(client: RfbTestClient, rect: Rect, row: number): number {
  let count = 0;
  for (let y = row * CELL_HEIGHT; y < (row + 1) * CELL_HEIGHT; y++) {
    for (let x = 0; x < rect.w; x++) if (pixelRgb(client.pixelFormat!, rect, x, y).some((v) => v > 40)) count++;
  }
  return count;
}

async function until(test: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!test() && Date.now() < deadline) await sleep(20);
  return test();
}

describe('container console (vncterm)', { timeout: 60_000 }, () => {
  let sim: Simulator;
  const clients: RfbTestClient[] = [];
  before(async () => {
    sim = await startSimulator({ durations: { listenerWaitMs: 500, vnctermFirstClientWaitMs: 1500, vnctermLingerMs: 800 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.stop();
  });

  it('checks width and height, and refuses generate-password', async () => {
    const forms: Record<string, string>[] = [{ width: '15' }, { width: '4097' }, { height: '15' }, { height: '2161' }, { 'generate-password': '1' }];
    for (const form of forms) {
      const res = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1', ...form } });
      assert.equal(res.status, 400, JSON.stringify(form));
      assert.deepEqual(Object.keys(res.json.errors), Object.keys(form));
    }
  });

  it('shows the shell as text; keys typed over VNC run commands in it', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200, { width: '800', height: '400' });
    const client = await viewer(sim, proxy);
    clients.push(client);
    assert.equal(client.width, 800);
    assert.equal(client.height, 400);
    const first = await fullScreen(client);
    assert.ok(inkInRow(client, first, 0) > 50, 'the first text row has text');
    assert.equal(inkInRow(client, first, 3), 0, 'the fourth row is still empty');
    assert.match(sim.terminal(200).screen, /^root@ct01:~#$/m);

    client.typeText('hostname\n');
    await until(() => /^ct01$/m.test(sim.terminal(200).screen));
    assert.match(sim.terminal(200).screen, /^root@ct01:~# hostname\nct01\nroot@ct01:~#$/m);
    assert.match(sim.terminal(200).input, /hostname\r$/);
    assert.match(sim.received(200).text, /hostname\n$/);
    const after = await fullScreen(client);
    assert.ok(inkInRow(client, after, 2) > 20, 'the answer is drawn');
    assert.ok(inkInRow(client, after, 3) > 20, 'and the next prompt');
  });

  it('Ctrl+C and BackSpace arrive as the terminal would send them', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    const client = await viewer(sim, proxy);
    clients.push(client);
    // vncterm.c: `uint16_t screen_width = 744; uint16_t screen_height = 400;`, used unless
    // pve-container's vncproxy passes -width/-height: 93x25 cells of 8x16 pixels.
    assert.equal(client.width, 744, "vncterm's default width");
    assert.equal(client.height, 400);
    client.typeText('whoamx');
    client.keyEvent(true, 0xff08);
    client.keyEvent(false, 0xff08);
    client.typeText('i\n');
    await until(() => /^root$/m.test(sim.terminal(200).screen));
    client.keyEvent(true, 0xffe3);
    client.typeText('c');
    client.keyEvent(false, 0xffe3);
    await until(() => sim.terminal(200).screen.includes('^C'));
    assert.match(sim.terminal(200).screen, /whoami\nroot\nroot@ct01:~# \^C\nroot@ct01:~#$/);
    assert.ok(sim.terminal(200).input.endsWith('whoamx\x7fi\r\x03'), 'BackSpace is DEL, Ctrl+C is ETX');
  });

  it('takes two viewers at once on one port; both see what either types', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    const one = await viewer(sim, proxy);
    const two = await viewer(sim, proxy);
    clients.push(one, two);
    await fullScreen(one);
    await fullScreen(two);
    one.requestUpdate(true, 0, 0, one.width, one.height);
    two.typeText('echo both\n');
    const { rects } = await one.readFramebufferUpdate();
    assert.ok(rects.some((r) => r.encoding === 0), 'the first viewer is sent the change');
    await until(() => /^both$/m.test(sim.terminal(200).screen));
    assert.match(sim.terminal(200).screen, /^both$/m);
  });

  it('refuses a wrong password with vncterm\'s reason', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    const client = RfbTestClient.overWebSocket(await openWs(sim, 'lxc', 200, proxy));
    const result = await client.handshake({ password: 'wrongpw!' });
    assert.deepEqual(result.securityTypes, [2]);
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'password check failed!');
  });

  it('waits longer than the VNC listener for its first client, then exits', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    await sleep(900);
    const late = await viewer(sim, proxy);
    late.close();
    const unused = await vncproxy(sim, 'lxc', 200);
    await sleep(1700);
    const path = vncwebsocketPath('pve1', 'lxc', 200, unused.port, unused.ticket);
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 800)).kind, 'timeout', 'gone after its first-client wait');
  });

  it('lingers after the last viewer left, then exits', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    (await viewer(sim, proxy)).close();
    await sleep(300);
    const back = await viewer(sim, proxy);
    back.close();
    await sleep(1200);
    const path = vncwebsocketPath('pve1', 'lxc', 200, proxy.port, proxy.ticket);
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 800)).kind, 'timeout', 'exited after the linger time');
  });

  it('a VM with a serial display gets a vncterm through the QEMU vncproxy', async () => {
    const vm = sim.inventory.guests.find((g) => g.vmid === 100)!;
    vm.display = 'serial0';
    try {
      const proxy = await vncproxy(sim, 'qemu', 100);
      const client = await viewer(sim, proxy, 'qemu', 100);
      clients.push(client);
      // qemu-server starts this vncterm without -width/-height: vncterm.c's default 744x400.
      assert.equal(client.width, 744);
      assert.equal(client.height, 400);
      client.typeText('uname -n\n');
      await until(() => /^web01$/m.test(sim.terminal(100).screen));
      assert.match(sim.terminal(100).screen, /^starting serial terminal on interface serial0\nroot@web01:~# uname -n\nweb01$/m);
    } finally {
      delete vm.display;
    }
  });
});

describe('vncterm keyboard idle time', { timeout: 20_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ durations: { vnctermIdleMs: 1000 } });
  });
  after(() => sim.stop());

  it('exits after the idle time without keys, even with a viewer', async () => {
    const proxy = await vncproxy(sim, 'lxc', 200);
    const client = await viewer(sim, proxy);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      await sleep(500);
      client.typeText('x');
    }
    assert.equal(client.isOpen, true, 'keys keep it alive');
    await client.closed;
    assert.ok(Date.now() - started >= 2300, `exited ${Date.now() - started} ms after the start`);
  });
});
