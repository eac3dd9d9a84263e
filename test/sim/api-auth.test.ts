import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { apiCall, forgeSignature, login, sessionHeaders, VNCUSER_TOKEN } from './api-client.js';

describe('simulator authentication', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.1', port: 0, durations: { loginFailureDelayMs: 300 } });
  });
  after(() => sim.stop());

  it('logs in with form and JSON bodies and issues Proxmox-shaped tickets', async () => {
    const form = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: 'vncpass' } });
    assert.equal(form.status, 200);
    assert.match(form.json.data.ticket, /^PVE:vncuser@pve:[0-9A-F]{8}::[A-Za-z0-9+/=]+$/);
    assert.match(form.json.data.CSRFPreventionToken, /^[0-9A-F]{8}:[A-Za-z0-9+/]{43}$/);
    assert.equal(form.json.data.username, 'vncuser@pve');
    assert.deepEqual(form.json.data.cap.vms, { 'VM.Console': 1, 'VM.Audit': 1 });

    const json = await apiCall(sim, 'POST', '/access/ticket', { json: { username: 'vncuser', realm: 'pve', password: 'vncpass' } });
    assert.equal(json.status, 200);
    assert.equal(json.json.data.username, 'vncuser@pve');
  });

  // pve-access-control's API2/AccessControl.pm create_ticket: `die PVE::Exception->new("authentication
  // failure\n", code => 401)` inside the handler, so pve-http-server's JSON formatter writes the body:
  // {"data":null}, plus "message" since libpve-http-server-perl 5.2.0 (Formatter/Standard.pm).
  it('answers a wrong password with a delayed 401 whose JSON body carries the message', async () => {
    const started = Date.now();
    const res = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: 'wrong' } });
    assert.equal(res.status, 401);
    assert.ok(Date.now() - started >= 280, 'the failure is delayed');
    assert.equal(res.reason, 'authentication failure');
    assert.deepEqual(res.json, { data: null, message: 'authentication failure\n' });
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.headers.connection, 'close');
    const unknown = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'nobody@pve', password: 'x' } });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.json, res.json, 'an unknown user gets the same answer');
  });

  it('refuses every login while the refuseLogins fault is on', async () => {
    sim.setFaults({ refuseLogins: true });
    try {
      const res = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: 'vncpass' } });
      assert.equal(res.status, 401);
    } finally {
      sim.setFaults({ refuseLogins: false });
    }
  });

  it('answers 403 to an API token on /access/ticket', async () => {
    const res = await apiCall(sim, 'POST', '/access/ticket', { headers: { Authorization: VNCUSER_TOKEN }, form: { username: 'vncuser@pve', password: 'vncpass' } });
    assert.equal(res.status, 403);
  });

  it('renews a valid ticket posted as password, and refuses it for another user', async () => {
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const renewed = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: session.ticket } });
    assert.equal(renewed.status, 200);
    assert.match(renewed.json.data.ticket, /^PVE:vncuser@pve:/);
    const stolen = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'auditor@pve', password: session.ticket } });
    assert.equal(stolen.status, 401);
    const forged = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: forgeSignature(session.ticket) } });
    assert.equal(forged.status, 401);
  });

  it('accepts the ticket escaped or not in the cookie, and in an Authorization header', async () => {
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const variants: Record<string, string>[] = [
      { Cookie: `PVEAuthCookie=${encodeURIComponent(session.ticket)}` },
      { Cookie: `other=1; PVEAuthCookie=${session.ticket}` },
      { Authorization: `PVEAuthCookie=${session.ticket}` },
    ];
    for (const headers of variants) {
      const res = await apiCall(sim, 'GET', '/access/permissions?path=/vms/100', { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.deepEqual(res.json.data, { '/vms/100': { 'VM.Console': 1, 'VM.Audit': 1 } });
    }
  });

  // pve-http-server's AnyEvent.pm answers a failed auth_handler with HTTP::Response->new(HTTP_UNAUTHORIZED,
  // $err) (no JSON login formatter exists), after "# always delay unauthorized calls by 3 seconds".
  it('refuses missing or bad credentials with a delayed 401, reason in the status line and no body', async () => {
    const timed = async (headers: Record<string, string>) => {
      const started = Date.now();
      const res = await apiCall(sim, 'GET', '/cluster/resources', { headers });
      assert.ok(Date.now() - started >= 280, `the 401 is delayed: ${JSON.stringify(headers)}`);
      return res;
    };
    const none = await timed({});
    assert.equal(none.status, 401);
    assert.equal(none.reason, 'No ticket');
    assert.equal(none.text, '');
    assert.equal(none.headers.connection, 'close');
    const badTicket = await timed({ Cookie: 'PVEAuthCookie=PVE:vncuser@pve:00000000::abc' });
    assert.equal(badTicket.status, 401);
    assert.ok(badTicket.reason.length > 0);
    assert.equal(badTicket.text, '');
    const badToken = await timed({ Authorization: VNCUSER_TOKEN.replace('1111', '9999') });
    assert.equal(badToken.status, 401);
    assert.equal(badToken.text, '');
  });

  it('lets the cookie win over a token header', async () => {
    const res = await apiCall(sim, 'GET', '/cluster/resources', { headers: { Cookie: 'PVEAuthCookie=PVE:vncuser@pve:00000000::abc', Authorization: VNCUSER_TOKEN } });
    assert.equal(res.status, 401);
    const auditor = await login(sim, 'auditor@pve', 'auditpass');
    const both = await apiCall(sim, 'GET', '/access/permissions?path=/vms/100', {
      headers: { Cookie: `PVEAuthCookie=${encodeURIComponent(auditor.ticket)}`, Authorization: VNCUSER_TOKEN },
    });
    assert.deepEqual(both.json.data, { '/vms/100': { 'VM.Audit': 1 } }, 'answered as the ticket user');
  });

  it('needs the CSRF token on non-GET requests with a ticket, not with an API token', async () => {
    const session = await login(sim, 'vncuser@pve', 'vncpass');
    const cookieOnly = { Cookie: `PVEAuthCookie=${encodeURIComponent(session.ticket)}` };
    const missing = await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers: cookieOnly, form: { websocket: '1' } });
    assert.equal(missing.status, 401);
    assert.equal(missing.reason, 'Permission denied - invalid csrf token');
    assert.equal(missing.text, '');

    const auditor = await login(sim, 'auditor@pve', 'auditpass');
    const foreign = await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers: { ...cookieOnly, CSRFPreventionToken: auditor.csrf }, form: { websocket: '1' } });
    assert.equal(foreign.status, 401, "another user's CSRF token is refused");

    const ok = await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers: sessionHeaders(session), form: { websocket: '1' } });
    assert.equal(ok.status, 200);
    const token = await apiCall(sim, 'POST', '/nodes/pve1/qemu/100/vncproxy', { headers: { Authorization: VNCUSER_TOKEN }, form: { websocket: '1' } });
    assert.equal(token.status, 200);
    assert.equal(token.json.data.user, 'vncuser@pve!console');
  });

  it('counts logins', async () => {
    const before = sim.stats().logins;
    await login(sim, 'auditor@pve', 'auditpass');
    assert.equal(sim.stats().logins, before + 1);
  });
});

describe('simulator ticket lifetime', () => {
  it('refuses a ticket once its lifetime is over', async () => {
    const sim = await startSimulator({ durations: { ticketLifetimeMs: 2000, loginFailureDelayMs: 0 } });
    try {
      const session = await login(sim, 'vncuser@pve', 'vncpass');
      const headers = { Cookie: `PVEAuthCookie=${encodeURIComponent(session.ticket)}` };
      // Ticket times have one-second resolution, so a fresh ticket may already be almost a second
      // old: the lifetime leaves room for that, and after 3 s more the age is surely over it.
      assert.equal((await apiCall(sim, 'GET', '/cluster/resources', { headers })).status, 200);
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await apiCall(sim, 'GET', '/cluster/resources', { headers })).status, 401);
    } finally {
      await sim.stop();
    }
  });
});

describe('simulator authentication on release 7', () => {
  it('answers a wrong password with {"data":null} only: the message field came with libpve-http-server-perl 5.2.0', async () => {
    const sim = await startSimulator({ release: '7', durations: { loginFailureDelayMs: 0 } });
    try {
      const res = await apiCall(sim, 'POST', '/access/ticket', { form: { username: 'vncuser@pve', password: 'wrong' } });
      assert.equal(res.status, 401);
      assert.equal(res.reason, 'authentication failure');
      assert.deepEqual(res.json, { data: null });
    } finally {
      await sim.stop();
    }
  });
});
