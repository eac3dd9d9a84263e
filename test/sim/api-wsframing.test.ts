import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { TermClient, termWebsocketPath } from '../helpers/term-client.js';
import { apiCall, ByteCollector, clientFrame, parseServerFrames, rawConsole, rawRequest, upgradeHeaders, VNCUSER_TOKEN, vncwebsocketPath } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };
const VERSION = Buffer.from('RFB 003.008\n', 'latin1');

/** A console websocket whose first frame (the RFB version) has arrived. */
async function openConsole(sim: Simulator) {
  const answer = await rawConsole(sim, token, 'pve1', 100, { 'Sec-WebSocket-Protocol': 'binary' });
  assert.equal(answer.kind, 'answer');
  if (answer.kind !== 'answer') throw new Error('unreachable');
  assert.equal(answer.status, 101);
  const collector = new ByteCollector(answer.socket, answer.rest);
  assert.ok(await collector.until(() => collector.bytes.length >= 2 + VERSION.length, 3000), 'RFB version frame');
  return { socket: answer.socket, collector };
}

describe('vncwebsocket framing (as pveproxy)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ durations: { listenerWaitMs: 2000 } });
  });
  after(() => sim.stop());

  it('sends RFB bytes as unmasked final binary frames and passes text and binary frames through', async () => {
    const { socket, collector } = await openConsole(sim);
    const [first] = parseServerFrames(collector.bytes);
    assert.deepEqual({ opcode: first!.opcode, fin: first!.fin, masked: first!.masked }, { opcode: 2, fin: true, masked: false });
    assert.deepEqual(first!.payload, VERSION);
    // The client's version as a text frame: the payload reaches the console all the same.
    socket.write(clientFrame(1, VERSION));
    assert.ok(await collector.until(() => parseServerFrames(collector.bytes).length >= 2, 3000), 'security types follow');
    const [, types] = parseServerFrames(collector.bytes);
    assert.deepEqual([...types!.payload], [1, 2], 'one security type: VNC authentication');
    socket.destroy();
  });

  it('answers a ping with a pong itself', async () => {
    const { socket, collector } = await openConsole(sim);
    socket.write(clientFrame(9, Buffer.from('hello')));
    assert.ok(await collector.until(() => parseServerFrames(collector.bytes).some((f) => f.opcode === 10), 3000));
    const pong = parseServerFrames(collector.bytes).find((f) => f.opcode === 10)!;
    assert.equal(pong.payload.toString(), 'hello');
    socket.destroy();
  });

  const violations: [string, Buffer][] = [
    ['a fragmented frame (FIN=0)', clientFrame(2, VERSION, { fin: false })],
    ['a continuation frame', clientFrame(0, VERSION)],
    ['a frame with RSV1 set (compression)', clientFrame(2, VERSION, { rsv: 4 })],
    ['a frame with RSV3 set', clientFrame(2, VERSION, { rsv: 1 })],
    ['an unmasked frame', clientFrame(2, VERSION, { masked: false })],
    ['a frame over 131072 bytes', clientFrame(2, Buffer.alloc(131073, 0x41))],
    ['opcode 3', clientFrame(3, VERSION)],
    ['opcode 7', clientFrame(7, VERSION)],
    ['opcode 11', clientFrame(11, VERSION)],
    ['opcode 15', clientFrame(15, VERSION)],
    ['a Close frame', clientFrame(8, Buffer.from([0x03, 0xe8]))],
  ];
  for (const [what, frame] of violations) {
    it(`closes the TCP connection, without a Close frame, on ${what}`, async () => {
      const { socket, collector } = await openConsole(sim);
      socket.write(frame);
      assert.ok(await collector.until(() => collector.closed, 3000), 'connection closed');
      const frames = parseServerFrames(collector.bytes);
      assert.ok(!frames.some((f) => f.opcode === 8), 'no Close frame');
      assert.equal(frames.length, 1, 'nothing after the version: the bad frame never reached the console');
    });
  }

  it('accepts a frame of exactly 131072 bytes', async () => {
    const { socket, collector } = await openConsole(sim);
    // The version padded to the limit: the console answering it shows the frame was passed on.
    socket.write(clientFrame(2, Buffer.concat([VERSION, Buffer.alloc(131072 - VERSION.length)])));
    assert.ok(await collector.until(() => parseServerFrames(collector.bytes).length >= 2, 3000), 'the console answered the version');
    socket.destroy();
  });

  it('drops the websocket after the configured number of bytes', async () => {
    sim.setFaults({ dropWebsocketAfterBytes: 5 });
    try {
      const answer = await rawConsole(sim, token, 'pve1', 100);
      assert.equal(answer.kind, 'answer');
      if (answer.kind !== 'answer') return;
      const collector = new ByteCollector(answer.socket, answer.rest);
      assert.ok(await collector.until(() => collector.closed, 3000));
      const payload = Buffer.concat(parseServerFrames(collector.bytes).map((f) => f.payload));
      assert.deepEqual(payload, VERSION.subarray(0, 5));
    } finally {
      sim.setFaults({ dropWebsocketAfterBytes: null });
    }
  });
});

describe('vncwebsocket idle cut', () => {
  it('closes a console after the idle time with no data either way; pings do not count', async () => {
    const sim = await startSimulator({ durations: { relayIdleMs: 800 } });
    try {
      const { socket, collector } = await openConsole(sim);
      const started = Date.now();
      const pinger = setInterval(() => socket.write(clientFrame(9, Buffer.from('k'))), 200);
      try {
        assert.ok(await collector.until(() => collector.closed, 3000), 'cut while idle');
      } finally {
        clearInterval(pinger);
      }
      assert.ok(Date.now() - started >= 600);
      assert.ok(parseServerFrames(collector.bytes).some((f) => f.opcode === 10), 'pings were answered meanwhile');
    } finally {
      await sim.stop();
    }
  });

  // qemu-server's qm.pm run_vnc_proxy, the relay behind a QEMU VNC console: `my $timeout = 60 * 15;`
  // on its select loop, exiting when nothing was readable for that long. vncterm (containers,
  // serial displays) and termproxy relay with pveproxy alone, which has no such limit.
  it('cuts only the QEMU VNC console: a container vncterm and a termproxy terminal outlive the idle time', async () => {
    const idleMs = 600;
    const sim = await startSimulator({ durations: { relayIdleMs: idleMs } });
    const terminals: TermClient[] = [];
    try {
      const qemu = await openConsole(sim);
      const proxy = (await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1' } })).json.data;
      const vncterm = await rawRequest(sim, vncwebsocketPath('pve1', 'lxc', 200, proxy.port, proxy.ticket), { ...upgradeHeaders(), ...token }, 3000);
      assert.ok(vncterm.kind === 'answer' && vncterm.status === 101, 'vncterm upgraded');
      const vnctermBytes = new ByteCollector(vncterm.socket, vncterm.rest);
      const term = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/termproxy', { headers: token });
      assert.equal(term.status, 200);
      const terminal = await TermClient.open(sim, termWebsocketPath('pve1', 'lxc', 200, term.json.data.port, term.json.data.ticket), token);
      terminals.push(terminal);
      terminal.login(term.json.data.user, term.json.data.ticket);
      assert.ok(await terminal.waitFor('# '), 'terminal logged in');

      assert.ok(await qemu.collector.until(() => qemu.collector.closed, idleMs * 4), 'the QEMU console is cut');
      await sleep(idleMs);
      assert.equal(vnctermBytes.closed, false, 'vncterm has no idle cut');
      assert.equal(terminal.closed, false, 'termproxy has no idle cut');
      vncterm.socket.destroy();
    } finally {
      for (const t of terminals) t.close();
      await sim.stop();
    }
  });
});
