import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { apiCall, VNCUSER_TOKEN, vncproxy } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

describe('vncproxy on release current', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ durations: { listenerWaitMs: 1000 } });
  });
  after(() => sim.stop());

  it('answers user, ticket, numeric port, upid, cert and an 8-character password that prefixes the ticket', async () => {
    const forms: Record<string, string>[] = [{ websocket: '1' }, { websocket: '1', 'generate-password': '1' }];
    for (const form of forms) {
      const data = await vncproxy(sim, token, 'pve1', 100, form);
      assert.equal(data.user, 'vncuser@pve!console');
      assert.equal(typeof data.port, 'number');
      assert.ok(Number(data.port) >= 5900 && Number(data.port) <= 5999);
      assert.match(data.upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vncproxy:100:vncuser@pve!console:$/);
      assert.equal(data.cert, sim.caPem);
      assert.ok(data.password !== undefined);
      assert.equal(data.password.length, 8);
      for (const ch of data.password) assert.ok(ch.charCodeAt(0) >= 0x21 && ch.charCodeAt(0) <= 0x60, `password char ${ch}`);
      assert.ok(data.ticket.startsWith(`${data.password}:PVEVNC:`), data.ticket);
    }
  });

  it('gives each waiting listener its own port, and frees it when the wait is over', async () => {
    const first = await vncproxy(sim, token, 'pve2', 300);
    const second = await vncproxy(sim, token, 'pve2', 300);
    assert.notEqual(first.port, second.port);
    await new Promise((r) => setTimeout(r, 1200));
    const third = await vncproxy(sim, token, 'pve2', 300);
    assert.equal(third.port, first.port);
  });

  it('serves containers too: no generate-password parameter, width and height bounded', async () => {
    const ok = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1', width: '800', height: '600' } });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.data.ticket.startsWith(`${ok.json.data.password}:PVEVNC:`));
    const refused = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1', 'generate-password': '1', width: '8' } });
    assert.equal(refused.status, 400);
    assert.deepEqual(Object.keys(refused.json.errors).sort(), ['generate-password', 'width']);
  });

  it('answers 200 for a stopped VM, and counts calls', async () => {
    const before = sim.stats().vncproxyCalls;
    const res = await apiCall(sim, 'POST', '/nodes/pve1/qemu/101/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(res.status, 200);
    assert.equal(sim.stats().vncproxyCalls, before + 1);
  });
});

describe('vncproxy on release 7', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ release: '7' });
  });
  after(() => sim.stop());

  it('without generate-password: no password field, the ticket is the password, the port a string', async () => {
    const data = await vncproxy(sim, token, 'pve1', 100);
    assert.equal('password' in data, false);
    assert.match(data.ticket, /^PVEVNC:[0-9A-F]{8}::/);
    assert.equal(typeof data.port, 'string');
    assert.match(String(data.port), /^59\d\d$/);
  });

  it('gives containers no password field either', async () => {
    const res = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(res.status, 200);
    assert.equal('password' in res.json.data, false);
  });

  it('with generate-password=1: a password unrelated to the ticket', async () => {
    const data = await vncproxy(sim, token, 'pve1', 100, { websocket: '1', 'generate-password': '1' });
    assert.equal(data.password?.length, 8);
    assert.match(data.ticket, /^PVEVNC:/);
    assert.ok(!data.ticket.includes(data.password!));
  });
});
