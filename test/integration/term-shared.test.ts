// Shared text consoles end to end, through the gateway against the simulator: the viewers of one
// session share one terminal (the same output, each other's input, the current screen for a
// viewer who joins later), which outlives its last viewer by the reconnect grace; a VM's serial
// port chosen from its config, and 502 serial_not_configured when it has none.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { defaultInventory } from '../../sim/index.js';
import { createToken, redeem } from '../helpers/gateway.js';
import { inputMessage, TermClient } from '../helpers/term-client.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

const PASSWORD = { username: 'vncuser@pve', password: 'vncpass' };
const GRACE_S = 2;

describe('shared text consoles through the gateway (simulator)', () => {
  const clients: TermClient[] = [];
  // Registered before the helper's hooks, so the clients close before the gateway stops.
  after(() => {
    for (const c of clients) c.close();
  });
  const inventory = defaultInventory();
  inventory.guests.push(
    { vmid: 400, type: 'qemu', name: 'serial-display', node: 'pve1', status: 'running', template: false, serialPorts: ['serial0', 'serial1'], display: 'serial1' },
    { vmid: 401, type: 'qemu', name: 'second-port', node: 'pve1', status: 'running', template: false, serialPorts: ['serial2'], serialDevices: { serial0: '/dev/ttyS0' } },
    { vmid: 402, type: 'qemu', name: 'no-serial', node: 'pve1', status: 'running', template: false, serialPorts: [] },
  );
  const fx = useSimAndGateway({ PROXMOXVNC_RECONNECT_GRACE: String(GRACE_S), PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '4' }, { inventory, durations: { loginFailureDelayMs: 50 } });

  async function newSession(params: Record<string, unknown>): Promise<{ sessionId: string; cookie: string }> {
    const created = await createToken(fx.tg, { hostname: '127.0.0.2', port: String(fx.sim.port), node: 'pve1', console: 'xterm', ...PASSWORD, ...params });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(created.body.url as string);
    assert.equal(redeemed.statusCode, 302);
    return { sessionId: /\/console\/([^/]+)\/$/.exec(redeemed.location!)![1]!, cookie: redeemed.cookie! };
  }

  /** A viewer of the session, as the page connects (cookie and Origin). */
  async function viewer(session: { sessionId: string; cookie: string }, prompt = true): Promise<TermClient> {
    const url = `${fx.tg.origin.replace(/^http/, 'ws')}/console/${session.sessionId}/websocket`;
    const client = await TermClient.connect(url, { cookie: session.cookie, origin: fx.tg.origin });
    clients.push(client);
    if (prompt) assert.ok(await client.waitFor(/# $/), `a prompt: ${JSON.stringify(client.output)}`);
    return client;
  }

  async function endSession(sessionId: string): Promise<void> {
    const answer = await request(`${fx.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    await answer.body.dump();
  }

  async function lastError(sessionId: string): Promise<unknown> {
    const answer = await request(`${fx.tg.origin}/status`, { headers: { authorization: fx.tg.secret } });
    const body = (await answer.body.json()) as { sessions: Array<Record<string, unknown>> };
    return body.sessions.find((s) => s.session_id === sessionId)?.last_error;
  }

  test("two viewers of one session share one terminal: the same output, each other's input; a later viewer sees the current screen", async () => {
    const session = await newSession({ vmid: '100' });
    const calls = fx.sim.stats().termproxyCalls;
    const a = await viewer(session);
    const b = await viewer(session);
    a.send(inputMessage('echo from-a\r'));
    assert.ok(await a.waitFor('\r\nfrom-a\r\n'));
    assert.ok(await b.waitFor('echo from-a\r\nfrom-a\r\n'), "the second viewer sees the first one's typing and its answer");
    b.send(inputMessage('echo from-b\r'));
    assert.ok(await a.waitFor('echo from-b\r\nfrom-b\r\n'), "and the first sees the second's");
    const late = await viewer(session);
    assert.ok(late.output.includes('echo from-a\r\nfrom-a\r\n') && late.output.includes('echo from-b\r\nfrom-b\r\n'), `the screen so far, at once: ${JSON.stringify(late.output)}`);
    assert.equal(fx.sim.stats().termproxyCalls, calls + 1, 'one termproxy for the three viewers');
    for (const c of [a, b, late]) c.close();
    await endSession(session.sessionId);
  });

  test('the terminal outlives its last viewer by the reconnect grace: a viewer back within it finds the same one; then it closes', async () => {
    const session = await newSession({ vmid: '200' });
    const calls = fx.sim.stats().termproxyCalls;
    const first = await viewer(session);
    first.send(inputMessage('echo kept\r'));
    assert.ok(await first.waitFor('\r\nkept\r\n'));
    const websockets = fx.sim.stats().openWebsockets;
    first.close();
    await first.waitClosed();
    const back = await viewer(session);
    assert.ok(back.output.includes('echo kept\r\nkept\r\n'), 'the same screen');
    assert.equal(fx.sim.stats().termproxyCalls, calls + 1, 'the same terminal: no second termproxy');
    const left = Date.now();
    back.close();
    const closedAfter = await poll(async () => (fx.sim.stats().openWebsockets < websockets ? Date.now() - left : null), (ms) => ms !== null, 'the terminal closing', 15_000);
    assert.ok(closedAfter !== null && closedAfter >= GRACE_S * 1000 - 100, `closed ${closedAfter} ms after the last viewer left, not before the ${GRACE_S} s grace`);
  });

  test("a VM's serial port comes from its config: vga: serial1, else the first serialN: socket; checked at /create or, unvalidated, at connect", async () => {
    for (const [vmid, port, validate] of [['400', 'serial1', true], ['401', 'serial2', true], ['400', 'serial1', false]] as const) {
      const session = await newSession({ vmid, validate });
      const term = await viewer(session);
      assert.ok(term.output.includes(`starting serial terminal on interface ${port}\r\n`), `${vmid}: ${JSON.stringify(term.output)}`);
      term.close();
      await endSession(session.sessionId);
    }
  });

  test('/create answers 502 serial_not_configured for a VM without a serial socket, or a port that is none', async () => {
    for (const params of [{ vmid: '402' }, { vmid: '401', serial: 'serial0' }, { vmid: '100', serial: 'serial3' }]) {
      const created = await createToken(fx.tg, { hostname: '127.0.0.2', port: String(fx.sim.port), node: 'pve1', console: 'xterm', ...PASSWORD, ...params });
      assert.equal(created.statusCode, 502, JSON.stringify(created.body));
      assert.deepEqual(Object.keys(created.body).sort(), ['error', 'message', 'status']);
      assert.equal(created.body.status, 'error');
      assert.equal(created.body.error, 'serial_not_configured');
      assert.match(created.body.message as string, /serial/);
    }
    const vnc = await createToken(fx.tg, { hostname: '127.0.0.2', port: String(fx.sim.port), node: 'pve1', console: 'novnc', ...PASSWORD, vmid: '402' });
    assert.equal(vnc.statusCode, 200, 'its graphical console needs no serial port');
  });

  test('unvalidated, a VM without a serial socket closes the viewer with 4003 and a reason for people; /status has the code', async () => {
    const session = await newSession({ vmid: '402', validate: false });
    const term = await viewer(session, false);
    assert.ok(await term.waitClosed());
    assert.equal(term.closeCode, 4003);
    assert.equal(term.closeReason, 'This virtual machine has no serial console.');
    assert.deepEqual(term.frames, []);
    assert.equal(await poll(() => lastError(session.sessionId), (e) => e !== undefined, 'the last error'), 'serial_not_configured');
  });

  test("a new session of a guest takes the serial port from a session nobody watches; one still watched keeps it, as Proxmox's one client", async () => {
    const closedTab = await newSession({ vmid: '100' });
    (await viewer(closedTab)).close();
    const next = await newSession({ vmid: '100' });
    const a = await viewer(next);
    a.send(inputMessage('echo owner\r'));
    assert.ok(await a.waitFor('\r\nowner\r\n'), 'not kept waiting for the closed tab’s grace');
    const other = await newSession({ vmid: '100' });
    const waiting = await viewer(other, false);
    assert.ok(await waiting.waitFor('starting serial terminal on interface serial0\r\n'));
    a.send(inputMessage('echo busy\r'));
    assert.ok(await a.waitFor('\r\nbusy\r\n'));
    assert.ok(!waiting.output.includes('busy'), "the other session's viewer waits for the port");
    await endSession(next.sessionId);
    assert.ok(await waiting.waitFor(/# $/), 'the port passes on once the first session ends');
    waiting.send(inputMessage('echo mine\r'));
    assert.ok(await waiting.waitFor('\r\nmine\r\n'));
    await endSession(other.sessionId);
  });
});
