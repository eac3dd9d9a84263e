// Moving guests between nodes in the live inventory, as a migration does: the API finds them on
// the new node only, and their open consoles on the old one are cut.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { RfbTestClient } from '../helpers/rfb-client.js';
import { TermClient, termWebsocketPath } from '../helpers/term-client.js';
import { apiCall, openConsoleWebSocket, VNCUSER_TOKEN } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

describe('guest migration', { timeout: 30_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator();
  });
  after(() => sim.stop());

  const nodeOf = async (vmid: number) => {
    const res = await apiCall(sim, 'GET', '/cluster/resources?type=vm', { headers: token });
    return (res.json.data as { vmid: number; node: string }[]).find((r) => r.vmid === vmid)?.node;
  };

  it('VM 100 moved to pve2: status and consoles there, 500 on pve1, open console cut', async () => {
    const { ws, proxy } = await openConsoleWebSocket(sim, token, 'pve1', 100);
    const before = RfbTestClient.overWebSocket(ws);
    assert.equal((await before.handshake({ password: proxy.password! })).securityResult, 0);
    assert.equal(await nodeOf(100), 'pve1');

    sim.inventory.guests.find((g) => g.vmid === 100)!.node = 'pve2';
    await before.closed;
    const old = await apiCall(sim, 'GET', '/nodes/pve1/qemu/100/status/current', { headers: token });
    assert.equal(old.status, 500);
    assert.equal(old.reason, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist");
    const moved = await apiCall(sim, 'GET', '/nodes/pve2/qemu/100/status/current', { headers: token });
    assert.equal(moved.status, 200);
    assert.equal(moved.json.data.name, 'web01');
    assert.equal(await nodeOf(100), 'pve2');
    assert.equal((await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers: token, form: { websocket: '1' } })).status, 500);

    const again = await openConsoleWebSocket(sim, token, 'pve2', 100);
    const after = RfbTestClient.overWebSocket(again.ws);
    assert.equal((await after.handshake({ password: again.proxy.password! })).securityResult, 0);
    after.close();
  });

  it('CT 200 moved to pve2: its terminal opens there', async () => {
    sim.inventory.guests.find((g) => g.vmid === 200)!.node = 'pve2';
    assert.equal(await nodeOf(200), 'pve2');
    assert.equal((await apiCall(sim, 'GET', '/nodes/pve1/lxc/200/status/current', { headers: token })).reason, "Configuration file 'nodes/pve1/lxc/200.conf' does not exist");
    const res = await apiCall(sim, 'POST', '/nodes/pve2/lxc/200/termproxy', { headers: token });
    assert.equal(res.status, 200);
    const { user, ticket, port } = res.json.data;
    const client = await TermClient.open(sim, termWebsocketPath('pve2', 'lxc', 200, port, ticket), token);
    client.login(user, ticket);
    client.input('hostname\r');
    assert.ok(await client.waitFor('\r\nct01\r\n'));
    client.close();
  });
});
