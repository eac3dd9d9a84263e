// termproxy (xterm.js consoles) against the simulator: the API call, the login line, the message
// protocol read as a byte stream, and the fake shell behind it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { PING_MESSAGE, TermClient, inputMessage, resizeMessage, termWebsocketPath } from '../helpers/term-client.js';
import { apiCall, forgeSignature, login, rawRequest, sessionHeaders, upgradeHeaders, VNCUSER_TOKEN } from './api-client.js';

const token = { Authorization: VNCUSER_TOKEN };
const LOGIN_WAIT_MS = 800;
const LISTENER_WAIT_MS = 1500;
const REFUSAL_DELAY_MS = 300;

interface TermproxyAnswer {
  user: string;
  ticket: string;
  port: number | string;
  upid: string;
}

async function termproxy(sim: Simulator, headers: Record<string, string>, node: string, type: 'qemu' | 'lxc', vmid: number, form: Record<string, string> = {}): Promise<TermproxyAnswer> {
  const res = await apiCall(sim, 'POST', `/nodes/${node}/${type}/${vmid}/termproxy`, { headers, form });
  assert.equal(res.status, 200, `termproxy: ${res.status} ${res.reason}`);
  return res.json.data;
}

async function openTerminal(sim: Simulator, headers: Record<string, string>, type: 'qemu' | 'lxc', vmid: number, form: Record<string, string> = {}, node = 'pve1') {
  const answer = await termproxy(sim, headers, node, type, vmid, form);
  const client = await TermClient.open(sim, termWebsocketPath(node, type, vmid, answer.port, answer.ticket), headers);
  return { client, answer };
}

/** A terminal past its login: `OK` came first, and the first prompt. */
async function loggedIn(sim: Simulator, headers: Record<string, string>, type: 'qemu' | 'lxc', vmid: number, form: Record<string, string> = {}): Promise<TermClient> {
  const { client, answer } = await openTerminal(sim, headers, type, vmid, form);
  client.login(answer.user, answer.ticket);
  assert.ok(await client.waitFor('# '), `prompt after login, got ${JSON.stringify(client.output)}`);
  assert.ok(client.output.startsWith('OK'));
  return client;
}

describe('termproxy on release current', { timeout: 60_000 }, () => {
  let sim: Simulator;
  const clients: TermClient[] = [];
  const track = (c: TermClient) => (clients.push(c), c);
  before(async () => {
    sim = await startSimulator({ durations: { listenerWaitMs: LISTENER_WAIT_MS, termLoginWaitMs: LOGIN_WAIT_MS, hungSocketCloseMs: 2000, loginFailureDelayMs: REFUSAL_DELAY_MS } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.stop();
  });

  it('answers user, ticket, port and upid, and records the ticket as issued', async () => {
    const answer = await termproxy(sim, token, 'pve1', 'qemu', 100, { serial: 'serial0' });
    assert.deepEqual(Object.keys(answer).sort(), ['port', 'ticket', 'upid', 'user']);
    assert.equal(answer.user, 'vncuser@pve!console');
    assert.match(answer.ticket, /^PVEVNC:[0-9A-F]{8}::/);
    assert.equal(typeof answer.port, 'number');
    assert.ok(Number(answer.port) >= 5900 && Number(answer.port) <= 5999);
    assert.match(answer.upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vncproxy:100:vncuser@pve!console:$/);
    assert.ok(sim.issuedSecrets().includes(answer.ticket));
    assert.ok(sim.stats().termproxyCalls >= 1);
  });

  it('checks auth, CSRF, permission, node and parameters in Proxmox order', async () => {
    const auditor = await login(sim, 'auditor@pve', 'auditpass');
    const user = await login(sim, 'vncuser@pve', 'vncpass');
    const post = (path: string, headers: Record<string, string>, form: Record<string, string> = {}) => apiCall(sim, 'POST', path, { headers, form });
    assert.equal((await post('/nodes/pve1/lxc/200/termproxy', {})).status, 401);
    const noCsrf = await post('/nodes/pve1/lxc/200/termproxy', { Cookie: `PVEAuthCookie=${encodeURIComponent(user.ticket)}` });
    assert.equal(noCsrf.status, 401);
    assert.equal(noCsrf.reason, 'Permission denied - invalid csrf token');
    const forbidden = await post('/nodes/pve1/qemu/100/termproxy', sessionHeaders(auditor));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.reason, 'Permission check failed (/vms/100, VM.Console)');
    const badSerial = await post('/nodes/pve1/qemu/100/termproxy', token, { serial: 'serial4' });
    assert.equal(badSerial.status, 400);
    assert.ok(badSerial.json.errors.serial);
    const lxcSerial = await post('/nodes/pve1/lxc/200/termproxy', token, { serial: 'serial0' });
    assert.equal(lxcSerial.status, 400);
    assert.ok(lxcSerial.json.errors.serial);
    const missing = await post('/nodes/pve1/qemu/555/termproxy', token);
    assert.equal(missing.status, 500);
    assert.equal(missing.reason, "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist");
    const wrongType = await post('/nodes/pve1/lxc/100/termproxy', token);
    assert.equal(wrongType.reason, "Configuration file 'nodes/pve1/lxc/100.conf' does not exist");
    const node = await post('/nodes/nosuch/qemu/100/termproxy', token);
    assert.equal(node.status, 500);
    assert.match(node.reason, /^hostname lookup 'nosuch' failed/);
    const ok = await post('/nodes/pve1/lxc/200/termproxy', sessionHeaders(user));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.data.user, 'vncuser@pve');
  });

  it("runs a shell on VM 100's serial0 for a ticket login, answering hostname", async () => {
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const client = track(await loggedIn(sim, sessionHeaders(session), 'qemu', 100, { serial: 'serial0' }));
    assert.match(client.output, /^OKstarting serial terminal on interface serial0\r\nroot@web01:~# $/);
    client.input('hostname\r');
    assert.ok(await client.waitFor('hostname\r\nweb01\r\nroot@web01:~# '), JSON.stringify(client.output));
    assert.match(sim.terminal(100).input, /hostname\r$/);
    assert.match(sim.terminal(100).screen, /^web01$/m);
    // VM 100's serial port takes one client at a time (term-lines.test.ts): give it back.
    client.close();
  });

  it("runs a shell in CT 200 for an API token; resize, stty size, ping and the commands", async () => {
    const client = track(await loggedIn(sim, token, 'lxc', 200));
    client.input('hostname\r');
    assert.ok(await client.waitFor('\r\nct01\r\n'));
    client.input('stty size\r');
    assert.ok(await client.waitFor('\r\n20 80\r\n'), 'first size 80x20');
    client.resize(100, 30);
    client.send(PING_MESSAGE);
    client.input('stty size\r');
    assert.ok(await client.waitFor('\r\n30 100\r\n'), JSON.stringify(client.output));
    assert.deepEqual(sim.terminal(200).resizes.at(-1), { cols: 100, rows: 30 });
    const answers: [string, RegExp][] = [
      ['whoami', /\r\nroot\r\n/],
      ['uname -a', /\r\nLinux ct01 6\.8\.12-4-pve #1 SMP PREEMPT_DYNAMIC x86_64 GNU\/Linux\r\n/],
      ['echo héllo  "world"', /\r\nhéllo world\r\n/],
      ['pwd', /\r\n\/root\r\n/],
      ['date', /\r\n[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\r\n/],
      ['uptime', /\r\n \d\d:\d\d:\d\d up \d+ min, {2}1 user, {2}load average/],
      ['ls', /\r\nbin {2}etc/],
      ['help', /\r\nSimulated console of ct01/],
      ['frobnicate now', /\r\n-bash: frobnicate: command not found\r\n/],
    ];
    for (const [command, expected] of answers) {
      client.input(`${command}\r`);
      assert.ok(await client.waitFor(expected), `${command}: ${JSON.stringify(client.output.slice(-200))}`);
    }
  });

  it('line editing: Backspace, Ctrl+C, clear, and exit closing the session', async () => {
    const client = track(await loggedIn(sim, token, 'lxc', 200));
    client.input('hostnamX\x7fe\r');
    assert.ok(await client.waitFor('hostnamX\b \be\r\nct01\r\n'));
    client.input('whoami\x03');
    assert.ok(await client.waitFor('whoami^C\r\nroot@ct01:~# '));
    client.input('clear\r');
    assert.ok(await client.waitFor('\x1b[H\x1b[2J'));
    assert.equal(sim.terminal(200).screen, 'root@ct01:~#');
    client.input('exit\r');
    assert.ok(await client.waitClosed(3000), 'exit ends the session');
    assert.match(client.output, /logout\r\n$/);
  });

  it('reads messages as a byte stream: split across frames and several in one frame', async () => {
    const { client, answer } = await openTerminal(sim, token, 'lxc', 200);
    track(client);
    const bytes = Buffer.from(`${answer.user}:${answer.ticket}\n` + inputMessage('echo split\r') + PING_MESSAGE + resizeMessage(90, 33) + inputMessage('stty size\r'));
    // The login line in pieces, the last one carrying the start of the first message; then messages cut anywhere.
    const cuts = [3, 20, bytes.length - 40, bytes.length - 12, bytes.length - 1, bytes.length];
    let from = 0;
    for (const cut of cuts) {
      client.send(bytes.subarray(from, cut));
      from = cut;
      await sleep(20);
    }
    assert.ok(await client.waitFor('\r\nsplit\r\n'), JSON.stringify(client.output));
    assert.ok(await client.waitFor('\r\n33 90\r\n'), JSON.stringify(client.output));
    assert.ok(client.output.startsWith('OK'));
  });

  // pve-xtermjs termproxy checks the login line by POSTing it to the API (access/ticket, or
  // access/vncticket on current releases), which refuses with a 401 that pve-http-server's
  // AnyEvent.pm delays ("always delay unauthorized calls by 3 seconds"); termproxy then exits.
  // A line without `:` fails termproxy's own parsing ("authentication data is invalid") at once.
  it('closes without OK, after the 401 delay, for a wrong ticket, another user, or a ticket of another termproxy', async () => {
    const other = await termproxy(sim, token, 'pve1', 'lxc', 200);
    const cases: [(a: TermproxyAnswer) => string, boolean][] = [
      [(a) => `${a.user}:${forgeSignature(a.ticket)}\n`, true],
      [(a) => `vncuser@pve:${a.ticket}\n`, true],
      [() => `${other.user}:${other.ticket}\n`, true],
      [() => 'no colon here\n', false],
    ];
    for (const [loginLine, askedTheApi] of cases) {
      const { client, answer } = await openTerminal(sim, token, 'lxc', 200);
      track(client);
      const started = Date.now();
      client.send(loginLine(answer));
      assert.ok(await client.waitClosed(3000), loginLine(answer));
      const took = Date.now() - started;
      if (askedTheApi) assert.ok(took >= REFUSAL_DELAY_MS - 20, `refused after ${took} ms: ${loginLine(answer)}`);
      else assert.ok(took < REFUSAL_DELAY_MS, `a malformed line is refused at once, not after ${took} ms`);
      assert.equal(client.output, '', 'no OK, no output');
    }
  });

  it('closes a connection that sends no login line within the login wait', async () => {
    const { client } = await openTerminal(sim, token, 'qemu', 100);
    track(client);
    const started = Date.now();
    client.send('vncuser@pve!console:PVEVNC');
    assert.ok(await client.waitClosed(LOGIN_WAIT_MS + 3000));
    assert.ok(Date.now() - started >= LOGIN_WAIT_MS - 100, `closed after ${Date.now() - started} ms`);
    assert.equal(client.output, '');
  });

  it('a stopped VM: OK, then "VM 101 not running", then closed', async () => {
    const { client, answer } = await openTerminal(sim, token, 'qemu', 101);
    track(client);
    client.login(answer.user, answer.ticket);
    assert.ok(await client.waitClosed(3000));
    assert.equal(client.output, 'OKVM 101 not running\r\n');
  });

  // qemu-server's qm.pm `terminal`, run by termproxy after `OK`: with an interface asked for,
  //   die "serial interface '$iface' is not configured\n" if !$conf->{$iface};
  //   die "wrong serial type on interface '$iface'\n" if $conf->{$iface} ne 'socket';
  // and without one, die "unable to find a serial interface\n" if no serialN is a socket.
  it('serial ports qm terminal refuses: OK, then its message, then closed', async () => {
    const terminalOutput = async (vmid: number, form: Record<string, string>, node = 'pve1') => {
      const { client, answer } = await openTerminal(sim, token, 'qemu', vmid, form, node);
      track(client);
      client.login(answer.user, answer.ticket);
      assert.ok(await client.waitClosed(3000));
      return client.output;
    };
    assert.equal(await terminalOutput(100, { serial: 'serial2' }), "OKserial interface 'serial2' is not configured\r\n");
    const vm = sim.inventory.guests.find((g) => g.vmid === 300)!;
    vm.serialDevices = { serial3: '/dev/ttyS0' };
    try {
      assert.equal(await terminalOutput(300, { serial: 'serial3' }, 'pve2'), "OKwrong serial type on interface 'serial3'\r\n");
    } finally {
      delete vm.serialDevices;
    }
    vm.serialPorts = ['serial1'];
    try {
      const { client: second, answer: a2 } = await openTerminal(sim, token, 'qemu', 300, {}, 'pve2');
      track(second);
      second.login(a2.user, a2.ticket);
      assert.ok(await second.waitFor('starting serial terminal on interface serial1\r\nroot@app02:~# '), 'without `serial` the first configured port is used');
      vm.serialPorts = [];
      const { client: none, answer: a3 } = await openTerminal(sim, token, 'qemu', 300, {}, 'pve2');
      track(none);
      none.login(a3.user, a3.ticket);
      assert.ok(await none.waitClosed(3000));
      assert.equal(none.output, 'OKunable to find a serial interface\r\n');
    } finally {
      delete vm.serialPorts;
    }
  });

  it('closes on malformed messages without hurting the simulator or other consoles', async () => {
    const bystander = track(await loggedIn(sim, token, 'qemu', 100));
    const garbage = ['x', '0:abc:', '0::', '1:80:x:', '1:70000:20:', '0:99999999:', '3', '0;5:hello', '00:1:a', '1:80:20;'];
    for (const bad of garbage) {
      const client = track(await loggedIn(sim, token, 'lxc', 200));
      client.send(bad);
      assert.ok(await client.waitClosed(3000), `closed after ${JSON.stringify(bad)}`);
    }
    bystander.input('hostname\r');
    assert.ok(await bystander.waitFor('\r\nweb01\r\n'));
    const again = track(await loggedIn(sim, token, 'lxc', 200));
    again.input('hostname\r');
    assert.ok(await again.waitFor('\r\nct01\r\n'));
  });

  it('gives no HTTP answer for a used termproxy port, nor after the listener wait', async () => {
    const answer = await termproxy(sim, token, 'pve1', 'lxc', 200);
    const path = termWebsocketPath('pve1', 'lxc', 200, answer.port, answer.ticket);
    const first = await TermClient.open(sim, path, token);
    track(first);
    first.login(answer.user, answer.ticket);
    assert.ok(await first.waitFor('# '));
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 1000)).kind, 'timeout', 'second connection while the first runs');
    first.close();
    await sleep(100);
    assert.equal((await rawRequest(sim, path, { ...upgradeHeaders(), ...token }, 1000)).kind, 'timeout', 'reused after it ended');
    const late = await termproxy(sim, token, 'pve1', 'lxc', 200);
    await sleep(LISTENER_WAIT_MS + 200);
    const latePath = termWebsocketPath('pve1', 'lxc', 200, late.port, late.ticket);
    assert.equal((await rawRequest(sim, latePath, { ...upgradeHeaders(), ...token }, 1000)).kind, 'timeout', 'listener gone');
  });

  it('cuts an open terminal when its guest stops', async () => {
    const client = track(await loggedIn(sim, token, 'lxc', 200));
    const guest = sim.inventory.guests.find((g) => g.vmid === 200)!;
    guest.status = 'stopped';
    try {
      assert.ok(await client.waitClosed(3000));
    } finally {
      guest.status = 'running';
    }
    await sleep(150);
  });
});

describe('termproxy on release 7', { timeout: 30_000 }, () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ release: '7', durations: { listenerWaitMs: LISTENER_WAIT_MS, termLoginWaitMs: LOGIN_WAIT_MS, loginFailureDelayMs: REFUSAL_DELAY_MS } });
  });
  after(() => sim.stop());

  it('accepts the call for an API token, but the terminal login refuses the token user: no OK, closed', async () => {
    const { client, answer } = await openTerminal(sim, token, 'lxc', 200);
    assert.equal(typeof answer.port, 'string', 'PVE 7 sends the port as a string');
    assert.equal(answer.user, 'vncuser@pve!console');
    const started = Date.now();
    client.login(answer.user, answer.ticket);
    assert.ok(await client.waitClosed(3000));
    assert.ok(Date.now() - started >= REFUSAL_DELAY_MS - 20, 'refused by the API, after its 401 delay');
    assert.equal(client.output, '');
  });

  it('works with a password login', async () => {
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const client = await loggedIn(sim, sessionHeaders(session), 'qemu', 100, { serial: 'serial0' });
    client.input('hostname\r');
    assert.ok(await client.waitFor('\r\nweb01\r\n'));
    client.close();
  });
});
