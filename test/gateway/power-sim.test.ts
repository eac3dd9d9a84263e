// The gateway's Proxmox client against the simulator's power routes: each status/<action>
// answers a task UPID and has its effect (status, QEMU's paused state, a restarted guest), needs
// VM.PowerMgmt, and fails as Proxmox does on a guest in the wrong state; reset on a real QEMU
// restarts its machine.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxmoxClient, type PowerAction, type TicketCredentials } from '../../src/proxmox/client.js';
import { isProxmoxError } from '../../src/proxmox/errors.js';
import { startSimulator, type Inventory, type Simulator } from '../../sim/index.js';
import { requireExecutable } from '../helpers/system.js';

const INVENTORY: Inventory = {
  clusterName: 'simcluster',
  nodes: ['pve1'],
  users: [
    { userid: 'power@pve', password: 'powerpass', acl: [{ path: '/vms', privileges: ['VM.Console', 'VM.Audit', 'VM.PowerMgmt'], propagate: true }], tokens: [] },
    { userid: 'viewer@pve', password: 'viewerpass', acl: [{ path: '/vms', privileges: ['VM.Console', 'VM.Audit'], propagate: true }], tokens: [] },
  ],
  guests: [
    { vmid: 100, type: 'qemu', name: 'web01', node: 'pve1', status: 'running', template: false },
    { vmid: 200, type: 'lxc', name: 'ct01', node: 'pve1', status: 'running', template: false },
  ],
};
const UPID = /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:(qm|vz)[a-z]+:\d+:power@pve:$/;

async function session(sim: Simulator, user: string, password: string): Promise<{ client: ProxmoxClient; creds: TicketCredentials }> {
  const client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 10_000 });
  return { client, creds: await client.login(user, password) };
}

describe('power actions against the simulator', () => {
  let sim: Simulator;
  let client: ProxmoxClient;
  let creds: TicketCredentials;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, inventory: structuredClone(INVENTORY) });
    ({ client, creds } = await session(sim, 'power@pve', 'powerpass'));
  });
  after(async () => {
    await client?.close();
    await sim?.stop();
  });

  const act = (vmid: number, action: PowerAction, type: 'qemu' | 'lxc' = 'qemu') => client.powerAction(creds, 'pve1', type, vmid, action);
  const status = (vmid: number, type: 'qemu' | 'lxc' = 'qemu') => client.guestStatus(creds, 'pve1', type, vmid);

  it('each action answers a task id and changes the guest as Proxmox would', async () => {
    assert.match(await act(100, 'suspend'), UPID);
    assert.equal((await status(100)).status, 'running', 'a suspended VM still counts as running');
    assert.match(await act(100, 'resume'), UPID);
    assert.match(await act(100, 'reboot'), /:qmreboot:100:/);
    assert.match(await act(100, 'reset'), /:qmreset:100:/);
    assert.match(await act(100, 'shutdown'), /:qmshutdown:100:/);
    assert.equal((await status(100)).status, 'stopped');
    assert.match(await act(100, 'start'), /:qmstart:100:/);
    assert.equal((await status(100)).status, 'running');
    assert.match(await act(100, 'stop'), /:qmstop:100:/);
    assert.equal((await status(100)).status, 'stopped');
    assert.match(await act(200, 'reboot', 'lxc'), /:vzreboot:200:/);
  });

  it('a stopped guest cannot be shut down, a running one not started again', async () => {
    await assert.rejects(act(100, 'shutdown'), (e) => isProxmoxError(e, 'proxmox_error') && /not running/.test(e.message));
    await act(100, 'start');
    await assert.rejects(act(100, 'start'), (e) => isProxmoxError(e, 'proxmox_error') && /already running/.test(e.message));
  });

  it('containers have no reset; an identity without VM.PowerMgmt is refused', async () => {
    await assert.rejects(act(200, 'reset', 'lxc'), (e) => isProxmoxError(e));
    const viewer = await session(sim, 'viewer@pve', 'viewerpass');
    try {
      await assert.rejects(viewer.client.powerAction(viewer.creds, 'pve1', 'qemu', 100, 'stop'), (e) => isProxmoxError(e, 'permission_denied') && /VM\.PowerMgmt/.test(e.message));
    } finally {
      await viewer.client.close();
    }
  });
});

describe('reset on a real QEMU guest', () => {
  let sim: Simulator;
  before(async () => {
    requireExecutable('qemu-system-x86_64', 'qemu-system-x86');
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'qemu', inventory: structuredClone(INVENTORY) });
  });
  after(async () => sim?.stop());

  it('restarts the machine: its next console is a fresh QEMU', async () => {
    const { client, creds } = await session(sim, 'power@pve', 'powerpass');
    try {
      // vncproxy starts the guest's QEMU, as opening a console does.
      await client.vncproxy(creds, 'pve1', 'qemu', 100);
      const before = await sim.qemuProcess(100);
      assert.match(await client.powerAction(creds, 'pve1', 'qemu', 100, 'reset'), /:qmreset:100:power@pve:$/);
      await client.vncproxy(creds, 'pve1', 'qemu', 100);
      const afterReset = await sim.qemuProcess(100);
      assert.notEqual(afterReset.pid, before.pid, 'another QEMU process runs the guest');
      assert.equal((await client.guestStatus(creds, 'pve1', 'qemu', 100)).status, 'running');
    } finally {
      await client.close();
    }
  });
});
