import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import forge from 'node-forge';
import { ProxmoxClient, type ProxmoxCredentials, type TicketCredentials } from '../../src/proxmox/client.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';

/** A self-signed certificate for 127.0.0.1, made here so the test needs no files. */
function selfSigned(): { cert: string; key: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: 'scripted-pve' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
type Answer = { status: number; reason?: string; json?: unknown } | 'hang';

const tls = selfSigned();
const fingerprint = new X509Certificate(tls.cert).fingerprint256;
let server: Server;
let port: number;
let seen: Seen[] = [];
let answer: (req: Seen) => Answer = () => ({ status: 200, json: { data: null } });

before(async () => {
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(request);
      const a = answer(request);
      if (a === 'hang') return;
      res.writeHead(a.status, a.reason ?? '', a.json === undefined ? {} : { 'content-type': 'application/json' });
      res.end(a.json === undefined ? '' : JSON.stringify(a.json));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  server.close();
});

function client(extra: { fingerprint?: string; caPem?: string; insecure?: boolean; timeoutMs?: number } = {}): ProxmoxClient {
  return new ProxmoxClient(
    { hostname: '127.0.0.1', port, fingerprint: extra.fingerprint ?? fingerprint },
    { timeoutMs: extra.timeoutMs ?? 5_000, caPem: extra.caPem, insecure: extra.insecure },
  );
}

function script(fn: (req: Seen) => Answer): void {
  seen = [];
  answer = fn;
}

const ticketCreds: TicketCredentials = {
  kind: 'ticket',
  username: 'vncuser@pve',
  ticket: 'PVE:vncuser@pve:6F1E2D3C::a+b/c=',
  csrf: '6F1E2D3C:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ',
  issuedAt: 0,
};

async function rejectsWith(promise: Promise<unknown>, code: string, secrets: string[] = []): Promise<ProxmoxError> {
  let caught: unknown;
  await promise.catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof ProxmoxError, `expected a ProxmoxError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const s of secrets) assert.ok(!caught.message.includes(s), `message leaks ${s}: ${caught.message}`);
  return caught;
}

test('login posts a form, without CSRF, and returns ticket credentials', async () => {
  script(() => ({ status: 200, json: { data: { username: 'vncuser@pve', ticket: 'PVE:t', CSRFPreventionToken: 'C:T', cap: {} } } }));
  const c = client();
  const creds = await c.login('vncuser@pve', 'p&ss=w+rd');
  assert.equal(creds.kind, 'ticket');
  assert.equal(creds.ticket, 'PVE:t');
  assert.equal(creds.csrf, 'C:T');
  assert.ok(Date.now() - creds.issuedAt < 10_000);
  const [req] = seen;
  assert.equal(req!.method, 'POST');
  assert.equal(req!.url, '/api2/json/access/ticket');
  assert.equal(req!.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(req!.body)), { username: 'vncuser@pve', password: 'p&ss=w+rd' });
  assert.equal(req!.headers.csrfpreventiontoken, undefined);
  await c.close();
});

test('login: NeedTFA is refused as an auth failure saying why; 401 never echoes the password', async () => {
  script(() => ({ status: 200, json: { data: { username: 'u@pve', ticket: 'PVE:!tfa!x', CSRFPreventionToken: 'C:T', NeedTFA: 1 } } }));
  const c = client();
  const tfa = await rejectsWith(c.login('u@pve', 'pw'), 'proxmox_auth_failed');
  assert.match(tfa.message, /two-factor/);
  script(() => ({ status: 401, reason: 'authentication failure' }));
  await rejectsWith(c.login('u@pve', 'sup3rsecret'), 'proxmox_auth_failed', ['sup3rsecret']);
  await c.close();
});

test('renew posts the ticket as the password', async () => {
  script(() => ({ status: 200, json: { data: { username: 'vncuser@pve', ticket: 'PVE:new', CSRFPreventionToken: 'C:N' } } }));
  const c = client();
  const renewed = await c.renew(ticketCreds);
  assert.equal(renewed.ticket, 'PVE:new');
  assert.equal(new URLSearchParams(seen[0]!.body).get('password'), ticketCreds.ticket);
  await c.close();
});

test('vncproxy (qemu): websocket=1 and generate-password=1, cookie and CSRF header, port as a string', async () => {
  script(() => ({ status: 200, json: { data: { user: 'vncuser@pve', ticket: 'PVEVNC:x::sig', port: '5901', password: 'Ab:&#%+!', upid: 'UPID', cert: 'PEM' } } }));
  const c = client();
  const vnc = await c.vncproxy(ticketCreds, 'pve1', 'qemu', 100);
  assert.deepEqual(vnc, { port: 5901, ticket: 'PVEVNC:x::sig', vncPassword: 'Ab:&#%+!', user: 'vncuser@pve' });
  const [req] = seen;
  assert.equal(req!.url, '/api2/json/nodes/pve1/qemu/100/vncproxy');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(req!.body)), { websocket: '1', 'generate-password': '1' });
  assert.equal(req!.headers.cookie, `PVEAuthCookie=${encodeURIComponent('PVE:vncuser@pve:6F1E2D3C::a+b/c=')}`);
  assert.equal(req!.headers.csrfpreventiontoken, ticketCreds.csrf);
  await c.close();
});

test('vncproxy (lxc, PVE 7): no generate-password; without `password` the ticket starts the password', async () => {
  script(() => ({ status: 200, json: { data: { user: 'u@pve!tok', ticket: 'PVEVNC:5F5E100::sig', port: 5902 } } }));
  const c = client();
  const creds: ProxmoxCredentials = { kind: 'apiToken', tokenId: 'u@pve!tok', secret: '11111111-2222-3333-4444-555555555555' };
  const vnc = await c.vncproxy(creds, 'pve1', 'lxc', 200);
  assert.equal(vnc.vncPassword, 'PVEVNC:5');
  assert.equal(vnc.port, 5902);
  const [req] = seen;
  assert.deepEqual(Object.fromEntries(new URLSearchParams(req!.body)), { websocket: '1' });
  assert.equal(req!.headers.authorization, 'PVEAPIToken=u@pve!tok=11111111-2222-3333-4444-555555555555');
  assert.equal(req!.headers.cookie, undefined);
  assert.equal(req!.headers.csrfpreventiontoken, undefined);
  await c.close();
});

test('permissions and resources read the answers Proxmox gives', async () => {
  script((req) =>
    req.url.startsWith('/api2/json/access/permissions')
      ? { status: 200, json: { data: { '/vms/100': { 'VM.Audit': 1, 'VM.Console': 0 } } } }
      : {
          status: 200,
          json: {
            data: [
              { id: 'qemu/100', type: 'qemu', vmid: 100, node: 'pve1', status: 'running', name: 'web01', template: 0 },
              { id: 'lxc/200', type: 'lxc', vmid: '200', node: 'pve2', status: 'unknown' },
              { id: 'storage/pve1/local', type: 'storage', node: 'pve1' },
            ],
          },
        },
  );
  const c = client();
  assert.deepEqual(await c.permissions(ticketCreds, '/vms/100'), { 'VM.Audit': 1, 'VM.Console': 0 });
  assert.equal(seen[0]!.url, '/api2/json/access/permissions?path=%2Fvms%2F100');
  assert.equal(seen[0]!.headers.csrfpreventiontoken, undefined);
  assert.deepEqual(await c.permissions(ticketCreds, '/vms/999'), {});
  assert.deepEqual(await c.resources(ticketCreds), [
    { vmid: 100, type: 'qemu', node: 'pve1', status: 'running', name: 'web01' },
    { vmid: 200, type: 'lxc', node: 'pve2', status: 'unknown', name: undefined },
  ]);
  assert.equal(seen[2]!.url, '/api2/json/cluster/resources?type=vm');
  await c.close();
});

test('error shapes: the reason phrase alone (older releases) and `message` (2025 and later)', async () => {
  const c = client();
  script(() => ({ status: 500, reason: "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist", json: { data: null } }));
  await rejectsWith(c.guestStatus(ticketCreds, 'pve1', 'qemu', 999), 'guest_not_found');
  script(() => ({
    status: 500,
    reason: 'hostname lookup',
    json: { data: null, message: "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known\n" },
  }));
  await rejectsWith(c.guestStatus(ticketCreds, 'pve9', 'qemu', 100), 'node_not_found');
  script(() => ({ status: 403, reason: 'Permission check failed (/vms/100, VM.Console)', json: { data: null, message: 'Permission check failed (/vms/100, VM.Console)\n' } }));
  const denied = await rejectsWith(c.vncproxy(ticketCreds, 'pve1', 'qemu', 100), 'permission_denied', [ticketCreds.ticket]);
  assert.match(denied.message, /VM\.Console/);
  script(() => ({ status: 401, reason: 'No ticket' }));
  await rejectsWith(c.resources(ticketCreds), 'proxmox_auth_failed');
  script(() => ({ status: 200, json: { nodata: true } }));
  await rejectsWith(c.resources(ticketCreds), 'proxmox_error');
  await c.close();
});

test('TLS: a wrong pin, or no pin and an untrusted CA, is tls_verification_failed before any request', async () => {
  script(() => ({ status: 200, json: { data: [] } }));
  const wrongPin = client({ fingerprint: fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00') });
  await rejectsWith(wrongPin.resources(ticketCreds), 'tls_verification_failed');
  const system = new ProxmoxClient({ hostname: '127.0.0.1', port }, { timeoutMs: 5_000 });
  await rejectsWith(system.resources(ticketCreds), 'tls_verification_failed');
  assert.equal(seen.length, 0, 'no request reached an unverified server');
  await Promise.all([wrongPin.close(), system.close()]);
});

test('TLS: the pin in lower case without colons, the configured CA, or the insecure switch connect', async () => {
  script(() => ({ status: 200, json: { data: [] } }));
  const clients = [
    client({ fingerprint: fingerprint.toLowerCase().replace(/:/g, '') }),
    new ProxmoxClient({ hostname: '127.0.0.1', port }, { timeoutMs: 5_000, caPem: tls.cert }),
    new ProxmoxClient({ hostname: '127.0.0.1', port }, { timeoutMs: 5_000, insecure: true }),
  ];
  for (const c of clients) assert.deepEqual(await c.resources(ticketCreds), []);
  await Promise.all(clients.map((c) => c.close()));
});

test('a server that never answers is proxmox_timeout (504); a closed port is proxmox_unreachable', async () => {
  script(() => 'hang');
  const slow = client({ timeoutMs: 300 });
  const timeout = await rejectsWith(slow.resources(ticketCreds), 'proxmox_timeout');
  assert.equal(timeout.httpStatus, 504);
  await slow.close();

  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const closedPort = (probe.address() as AddressInfo).port;
  probe.close();
  const closed = new ProxmoxClient({ hostname: '127.0.0.1', port: closedPort }, { timeoutMs: 2_000 });
  const unreachable = await rejectsWith(closed.resources(ticketCreds), 'proxmox_unreachable');
  assert.equal(unreachable.httpStatus, 502);
  await closed.close();
});
