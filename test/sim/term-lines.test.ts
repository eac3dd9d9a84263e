// The guests' text console lines as Proxmox has them: a VM's config (vga, serialN) behind
// GET .../qemu/<vmid>/config, the port termproxy picks without `serial`, a VM serial port that
// serves one client at a time, and a container console that every client shares (dtach).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultInventory, startSimulator, type Simulator } from '../../sim/index.js';
import { TermClient, termWebsocketPath } from '../helpers/term-client.js';
import { apiCall, login, sessionHeaders, VNCUSER_TOKEN } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };

describe('text console lines', { timeout: 60_000 }, () => {
  let sim: Simulator;
  const clients: TermClient[] = [];

  before(async () => {
    const inventory = defaultInventory();
    inventory.users.push({ userid: 'console@pve', password: 'consolepass', acl: [{ path: '/vms', privileges: ['VM.Console'], propagate: true }], tokens: [] });
    inventory.guests.push(
      { vmid: 400, type: 'qemu', name: 'serial-display', node: 'pve1', status: 'running', template: false, serialPorts: ['serial0', 'serial1'], display: 'serial1' },
      { vmid: 401, type: 'qemu', name: 'second-port', node: 'pve1', status: 'running', template: false, serialPorts: ['serial2'], serialDevices: { serial0: '/dev/ttyS0' } },
      { vmid: 402, type: 'qemu', name: 'no-serial', node: 'pve1', status: 'running', template: false, serialPorts: [] },
    );
    sim = await startSimulator({ inventory, durations: { loginFailureDelayMs: 50, vnctermFirstClientWaitMs: 800 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.stop();
  });

  /** A termproxy client past its login; `prompt` false for one that is not expected to get a shell yet. */
  async function terminal(type: 'qemu' | 'lxc', vmid: number, form: Record<string, string> = {}, prompt = true): Promise<TermClient> {
    const res = await apiCall(sim, 'POST', `/nodes/pve1/${type}/${vmid}/termproxy`, { headers: token, form });
    assert.equal(res.status, 200, res.reason);
    const { user, ticket, port } = res.json.data;
    const client = await TermClient.open(sim, termWebsocketPath('pve1', type, vmid, port, ticket), token);
    clients.push(client);
    client.login(user, ticket);
    if (prompt) assert.ok(await client.waitFor(/# $/), JSON.stringify(client.output));
    return client;
  }

  // qemu-server API2/Qemu.pm `vm_config`: check => ['perm', '/vms/{vmid}', [ 'VM.Audit' ]]; the
  // answer is the config file's options ("vga: serial1", "serial0: socket", "serial0: /dev/ttyS0")
  // and its `digest`.
  it("answers a VM's config with VM.Audit: vga and serial ports as the config file has them", async () => {
    const config = await apiCall(sim, 'GET', '/nodes/pve1/qemu/400/config', { headers: token });
    assert.equal(config.status, 200);
    assert.equal(config.json.data.vga, 'serial1');
    assert.equal(config.json.data.serial0, 'socket');
    assert.equal(config.json.data.serial1, 'socket');
    assert.equal(config.json.data.name, 'serial-display');
    assert.match(config.json.data.digest, /^[0-9a-f]{40}$/);
    const devices = await apiCall(sim, 'GET', '/nodes/pve1/qemu/401/config', { headers: token });
    assert.equal(devices.json.data.serial0, '/dev/ttyS0');
    assert.equal(devices.json.data.serial2, 'socket');
    assert.equal(devices.json.data.vga, undefined, 'no vga line: the default display');
    const consoleOnly = await login(sim, 'console@pve', 'consolepass');
    const denied = await apiCall(sim, 'GET', '/nodes/pve1/qemu/400/config', { headers: sessionHeaders(consoleOnly) });
    assert.equal(denied.status, 403);
    assert.equal(denied.reason, 'Permission check failed (/vms/400, VM.Audit)');
    const missing = await apiCall(sim, 'GET', '/nodes/pve1/qemu/999/config', { headers: token });
    assert.equal(missing.status, 500);
  });

  // qemu-server's termproxy, without `serial`: "if ($conf->{vga}) { ... $serial = $vga->{type}
  // if $vga->{type} =~ m/^serial\d+$/; }", then `qm terminal -iface $serial`; without one,
  // `qm terminal` takes the first "serialN: socket".
  it('without serial, termproxy attaches to the vga serial port, else the first socket', async () => {
    const display = await terminal('qemu', 400);
    assert.ok(display.output.startsWith('OKstarting serial terminal on interface serial1\r\n'), JSON.stringify(display.output));
    display.close();
    const second = await terminal('qemu', 401);
    assert.ok(second.output.startsWith('OKstarting serial terminal on interface serial2\r\n'), JSON.stringify(second.output));
    second.close();
    const none = await terminal('qemu', 402, {}, false);
    assert.ok(await none.waitClosed(3000));
    assert.equal(none.output, 'OKunable to find a serial interface\r\n');
  });

  // QEMU's socket chardev (chardev/char-socket.c) stops listening while it has a client: on a new
  // connection tcp_chr_new_client() drops the listener's handler
  // (qio_net_listener_set_client_func_full(s->listener, NULL, ...)), and tcp_chr_disconnect_locked()
  // puts it back. So a second `qm terminal` (socat UNIX-CONNECT) sits in the listen backlog: its
  // termproxy says OK, qm prints its banner, and nothing more comes until the first client leaves.
  it("a VM's serial port serves one client; the next waits until it leaves, then gets the same shell", async () => {
    const first = await terminal('qemu', 100, { serial: 'serial0' });
    first.input('echo first\r');
    assert.ok(await first.waitFor('\r\nfirst\r\n'));
    const second = await terminal('qemu', 100, { serial: 'serial0' }, false);
    assert.ok(await second.waitFor('starting serial terminal on interface serial0\r\n'));
    second.input('echo queued\r');
    first.input('echo again\r');
    assert.ok(await first.waitFor('\r\nagain\r\n'));
    assert.equal(second.output, 'OKstarting serial terminal on interface serial0\r\n', 'the waiting client hears nothing');
    assert.doesNotMatch(first.output, /queued/, "the waiting client's keys do not reach the port");
    first.close();
    assert.ok(await second.waitFor('\r\nqueued\r\n'), `the port passes to the next client, its keys with it: ${JSON.stringify(second.output)}`);
    assert.match(sim.terminal(100).input, /echo first\r[\s\S]*echo queued\r$/, 'one shell received both clients’ input');
    second.close();
  });

  // pve-container's termproxy runs `dtach -A /var/run/dtach/vzctlconsole$vmid -r winch -z
  // lxc-console -n $vmid -e -1`: every client attaches to the one dtach master, sees what it
  // prints and types into it; `-r winch` has the program redraw for a client that attaches.
  it("a container's console is one session shared by all its clients", async () => {
    const a = await terminal('lxc', 200);
    const b = await terminal('lxc', 200);
    a.input('hostname\r');
    assert.ok(await a.waitFor('hostname\r\nct01\r\n'));
    assert.ok(await b.waitFor('hostname\r\nct01\r\n'), "the other client sees the first one's command and its answer");
    b.input('whoami\r');
    assert.ok(await a.waitFor('whoami\r\nroot\r\n'), "and the first sees the other's");
    a.close();
    b.input('echo still\r');
    assert.ok(await b.waitFor('\r\nstill\r\n'), 'one client leaving leaves the session to the others');
    b.close();
  });

  // qemu-server's vncproxy for `vga: serialN` runs `vncterm ... -c qm terminal <vmid> -iface
  // serialN`, and pve-container's runs vncterm on the same `dtach -A ...` as its termproxy: the
  // graphical text console is one more client of the same line.
  it("vncproxy's vncterm attaches to the same line: a VM's serial display holds its port, a container's shares its console", async () => {
    const vnc = await apiCall(sim, 'POST', '/nodes/pve1/qemu/400/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(vnc.status, 200);
    const waiting = await terminal('qemu', 400, {}, false);
    assert.ok(await waiting.waitFor('starting serial terminal on interface serial1\r\n'));
    assert.ok(await waiting.waitFor(/# $/, 5000), `the port is free once vncterm exits, no viewer having come: ${JSON.stringify(waiting.output)}`);
    waiting.close();
    const lxcVnc = await apiCall(sim, 'POST', '/nodes/pve1/lxc/200/vncproxy', { headers: token, form: { websocket: '1' } });
    assert.equal(lxcVnc.status, 200);
    const typing = await terminal('lxc', 200);
    typing.input('echo seen-by-vncterm\r');
    assert.ok(await typing.waitFor('\r\nseen-by-vncterm\r\n'));
    const screen = sim.terminal(200).screen;
    assert.match(screen, /^Connected to tty 1\n/, `the screen that changed last is vncterm's (it has the banner): ${screen}`);
    assert.match(screen, /^seen-by-vncterm$/m, "vncterm's screen shows what the termproxy client typed");
    typing.close();
  });
});
