import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultInventory, startSimulator, type Simulator } from '../../sim/index.js';
import { apiCall, login, sessionHeaders, VNCUSER_TOKEN } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

describe('simulator errors (release current)', () => {
  let sim: Simulator;
  let auditor: Record<string, string>;
  before(async () => {
    sim = await startSimulator();
    auditor = sessionHeaders(await login(sim, 'auditor@pve', 'auditpass'));
  });
  after(() => sim.stop());

  it('answers 403 to an identity without VM.Console, even for a guest that does not exist', async () => {
    for (const vmid of [100, 999]) {
      const res = await apiCall(sim, 'POST', `/nodes/pve1/qemu/${vmid}/vncproxy`, { headers: auditor, form: { websocket: '1' } });
      assert.equal(res.status, 403);
      assert.equal(res.reason, `Permission check failed (/vms/${vmid}, VM.Console)`);
      assert.deepEqual(res.json, { data: null, message: `Permission check failed (/vms/${vmid}, VM.Console)\n` });
      assert.equal(res.headers.connection, 'close');
    }
  });

  it("answers 500 naming the missing configuration file to an identity that holds the privilege", async () => {
    const qemu = await apiCall(sim, 'POST', '/nodes/pve1/qemu/999/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(qemu.status, 500);
    assert.equal(qemu.reason, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist");
    assert.equal(qemu.json.message, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n");
    // A guest on another node, or of the other type, has no configuration file at that path either.
    const elsewhere = await apiCall(sim, 'GET', '/nodes/pve2/qemu/100/status/current', { headers: token });
    assert.equal(elsewhere.reason, "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist");
    const container = await apiCall(sim, 'GET', '/nodes/pve1/lxc/100/status/current', { headers: token });
    assert.equal(container.reason, "Configuration file 'nodes/pve1/lxc/100.conf' does not exist");
  });

  it('answers 500 hostname lookup failed for an unknown node', async () => {
    const res = await apiCall(sim, 'GET', '/nodes/nosuch/qemu/100/status/current', { headers: token });
    assert.equal(res.status, 500);
    assert.equal(res.reason, "hostname lookup 'nosuch' failed - failed to get address info for: nosuch: Name or service not known");
  });

  it('answers 501 to an unknown route, after authentication', async () => {
    const res = await apiCall(sim, 'GET', '/nodes/pve1/qemu/100/rrddata', { headers: token });
    assert.equal(res.status, 501);
    assert.equal(res.reason, "Method 'GET /nodes/pve1/qemu/100/rrddata' not implemented");
    assert.equal(res.headers.connection, 'close');
    const wrongMethod = await apiCall(sim, 'DELETE', '/access/ticket', { headers: token });
    assert.equal(wrongMethod.status, 501);
    assert.equal((await apiCall(sim, 'GET', '/nodes/pve1/qemu/100/rrddata')).status, 401);
  });

  it('answers 400 with an errors object naming each bad parameter', async () => {
    const res = await apiCall(sim, 'POST', '/nodes/pve1/qemu/abc/vncproxy', { headers: token, form: { websocket: 'maybe', bogus: '1' } });
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Parameter verification failed.');
    assert.deepEqual(Object.keys(res.json.errors).sort(), ['bogus', 'vmid', 'websocket']);
    assert.equal(res.json.data, null);
    const missing = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve' } });
    assert.equal(missing.status, 400);
    assert.ok(missing.json.errors.password);
  });

  it('keeps the connection open after a success', async () => {
    const res = await apiCall(sim, 'GET', '/cluster/resources', { headers: token });
    assert.equal(res.status, 200);
    assert.notEqual(res.headers.connection, 'close');
  });

  it('lists only the guests the caller may audit in /cluster/resources', async () => {
    const res = await apiCall(sim, 'GET', '/cluster/resources?type=vm', { headers: auditor });
    const byId = Object.fromEntries(res.json.data.map((r: { id: string }) => [r.id, r]));
    assert.deepEqual(Object.keys(byId).sort(), ['lxc/200', 'qemu/100', 'qemu/101', 'qemu/300']);
    assert.deepEqual(
      { vmid: byId['qemu/300'].vmid, node: byId['qemu/300'].node, status: byId['qemu/300'].status, name: byId['qemu/300'].name, type: byId['qemu/300'].type, template: byId['qemu/300'].template },
      { vmid: 300, node: 'pve2', status: 'running', name: 'app02', type: 'qemu', template: 0 },
    );
    assert.equal(byId['qemu/101'].status, 'stopped');
  });

  it('answers status/current per guest type', async () => {
    const vm = await apiCall(sim, 'GET', '/nodes/pve1/qemu/100/status/current', { headers: auditor });
    assert.equal(vm.json.data.status, 'running');
    assert.equal(vm.json.data.name, 'web01');
    assert.equal(vm.json.data.type, undefined);
    const ct = await apiCall(sim, 'GET', '/nodes/pve1/lxc/200/status/current', { headers: auditor });
    assert.equal(ct.json.data.type, 'lxc');
    assert.equal(ct.json.data.name, 'ct01');
  });

  it('reflects edits of the live inventory', async () => {
    const guest = sim.inventory.guests.find((g) => g.vmid === 300)!;
    guest.status = 'stopped';
    try {
      const res = await apiCall(sim, 'GET', '/nodes/pve2/qemu/300/status/current', { headers: auditor });
      assert.equal(res.json.data.status, 'stopped');
    } finally {
      guest.status = 'running';
    }
  });

  // pve-access-control's API2/AccessControl.pm: `my $perms = $rpcenv->permissions($userid, $path);
  // if ($perms) { $res = { $path => $perms } }`, and RPCEnvironment's permissions() returns a hash
  // (an empty one is true in Perl), so a path without privileges still names the path.
  it('answers /access/permissions with and without a path; a path without privileges maps to {}', async () => {
    const one = await apiCall(sim, 'GET', '/access/permissions?path=/vms/100', { headers: auditor });
    assert.deepEqual(one.json.data, { '/vms/100': { 'VM.Audit': 1 } });
    const nothing = await apiCall(sim, 'GET', '/access/permissions?path=/storage', { headers: auditor });
    assert.deepEqual(nothing.json.data, { '/storage': {} });
    const all = await apiCall(sim, 'GET', '/access/permissions', { headers: token });
    assert.deepEqual(all.json.data, { '/vms': { 'VM.Console': 1, 'VM.Audit': 1 } });
  });

  it('injects route failures and answer delays', async () => {
    sim.setFaults({ failRoutes: [{ match: 'cluster.resources', status: 503, message: 'service down\n' }, { match: '/status/current$', status: 502 }] });
    try {
      const byName = await apiCall(sim, 'GET', '/cluster/resources', { headers: token });
      assert.equal(byName.status, 503);
      assert.equal(byName.reason, 'service down');
      assert.equal((await apiCall(sim, 'GET', '/nodes/pve1/qemu/100/status/current', { headers: token })).status, 502);
    } finally {
      sim.setFaults({ failRoutes: [] });
    }
    sim.setFaults({ delayMs: 400 });
    try {
      const started = Date.now();
      assert.equal((await apiCall(sim, 'GET', '/cluster/resources', { headers: token })).status, 200);
      assert.ok(Date.now() - started >= 380);
    } finally {
      sim.setFaults({ delayMs: 0 });
    }
  });
});

describe('simulator errors (release 7)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ release: '7' });
  });
  after(() => sim.stop());

  it('puts the message only in the status line, with no message field', async () => {
    const res = await apiCall(sim, 'POST', '/nodes/pve1/qemu/999/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(res.status, 500);
    assert.equal(res.reason, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist");
    assert.deepEqual(res.json, { data: null });
    const params = await apiCall(sim, 'GET', '/cluster/resources?type=bogus', { headers: token });
    assert.equal(params.status, 400);
    assert.deepEqual(Object.keys(params.json).sort(), ['data', 'errors']);
  });
});

describe('simulator inventory', () => {
  it('takes a custom inventory with a privilege-separated token capped by its user', async () => {
    const inventory = defaultInventory();
    inventory.users[0]!.tokens.push({ id: 'limited', secret: 'sekret', privsep: true, acl: [{ path: '/vms/100', privileges: ['VM.Audit', 'Sys.Modify'], propagate: true }] });
    const sim = await startSimulator({ inventory });
    try {
      const headers = { Authorization: 'PVEAPIToken=vncuser@pve!limited=sekret' };
      const on100 = await apiCall(sim, 'GET', '/access/permissions?path=/vms/100', { headers });
      assert.deepEqual(on100.json.data, { '/vms/100': { 'VM.Audit': 1 } });
      const resources = await apiCall(sim, 'GET', '/cluster/resources?type=vm', { headers });
      assert.deepEqual(resources.json.data.map((r: { vmid: number }) => r.vmid), [100]);
      const proxy = await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers, form: { websocket: '1' } });
      assert.equal(proxy.status, 403);
    } finally {
      await sim.stop();
    }
  });

  it('rejects an invalid inventory naming the problem', async () => {
    const inventory = defaultInventory();
    inventory.guests.push({ vmid: 100, type: 'qemu', name: 'dup', node: 'pve9', status: 'running', template: false });
    await assert.rejects(startSimulator({ inventory }), /duplicate vmid 100[\s\S]*unknown node pve9/);
  });
});
