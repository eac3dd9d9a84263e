import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProxmoxError, ProxmoxError, proxmoxHttpError, redact } from '../../src/proxmox/errors.js';
import { networkErrorToProxmox, parseFingerprint, resolveTlsPolicy } from '../../src/proxmox/tls.js';
import { vncPasswordOf } from '../../src/proxmox/client.js';

const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

test('fingerprints: colon-separated as Proxmox shows them, any case, colons optional', () => {
  assert.equal(parseFingerprint(FP), FP);
  assert.equal(parseFingerprint(FP.toLowerCase()), FP);
  assert.equal(parseFingerprint(FP.replace(/:/g, '')), FP);
  assert.equal(parseFingerprint(`  ${FP.toLowerCase().replace(/:/g, '')}\n`), FP);
});

test('fingerprints: wrong length, SHA-1 size or non-hex are refused', () => {
  for (const bad of ['', FP.slice(0, -3), `${FP}:00`, FP.replace('AB', 'XY'), 'AB:CD', '12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78']) {
    assert.throws(() => parseFingerprint(bad), /SHA-256 fingerprint/, bad);
  }
});

test('TLS policy: a pin wins, then a CA, then the insecure switch, else system CAs', () => {
  assert.deepEqual(resolveTlsPolicy({ fingerprint: FP.toLowerCase(), caPem: 'pem', insecure: true }), { kind: 'pin', fingerprint: FP });
  assert.deepEqual(resolveTlsPolicy({ caPem: 'pem', insecure: true }), { kind: 'ca', caPem: 'pem' });
  assert.deepEqual(resolveTlsPolicy({ insecure: true }), { kind: 'insecure' });
  assert.deepEqual(resolveTlsPolicy({}), { kind: 'system' });
});

test('VNC password rule: `password` when present, else the first 8 characters of the ticket', () => {
  assert.equal(vncPasswordOf({ password: 'a:&#%+!`', ticket: 'a:&#%+!`:PVEVNC:6F1E2D3C::sig' }), 'a:&#%+!`');
  assert.equal(vncPasswordOf({ password: 'Xy1!Xy1!', ticket: 'PVEVNC:6F1E2D3C::sig' }), 'Xy1!Xy1!');
  assert.equal(vncPasswordOf({ ticket: 'PVEVNC:6F1E2D3C::sig' }), 'PVEVNC:6');
  assert.equal(vncPasswordOf({ password: '', ticket: 'PVEVNC:6F1E2D3C::sig' }), 'PVEVNC:6');
});

const target = { host: '192.0.2.10', port: 8006 };
function sysError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

test('network errors map to stable codes, also when wrapped as a cause', () => {
  const cases: Array<[Error, string]> = [
    [sysError('ECONNREFUSED'), 'proxmox_unreachable'],
    [sysError('ENOTFOUND'), 'proxmox_unreachable'],
    [sysError('EHOSTUNREACH'), 'proxmox_unreachable'],
    [sysError('ECONNRESET'), 'proxmox_unreachable'],
    [sysError('ETIMEDOUT'), 'proxmox_timeout'],
    [sysError('UND_ERR_CONNECT_TIMEOUT'), 'proxmox_timeout'],
    [sysError('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls_verification_failed'],
    [sysError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls_verification_failed'],
    [sysError('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls_verification_failed'],
    [sysError('ERR_SSL_WRONG_VERSION_NUMBER'), 'proxmox_unreachable'],
    [new TypeError('fetch failed', { cause: sysError('ECONNREFUSED') }), 'proxmox_unreachable'],
    [new Error('outer', { cause: sysError('CERT_HAS_EXPIRED') }), 'tls_verification_failed'],
    [new Error('no code at all'), 'proxmox_unreachable'],
  ];
  for (const [err, code] of cases) {
    const mapped = networkErrorToProxmox(err, target);
    assert.equal(mapped.code, code, err.message);
    assert.equal(mapped.httpStatus, code === 'proxmox_timeout' ? 504 : 502);
    assert.match(mapped.message, /192\.0\.2\.10:8006/);
  }
  // Refused and not-TLS read the same to the backend: no port scan through /create.
  const refused = networkErrorToProxmox(sysError('ECONNREFUSED'), target);
  const notTls = networkErrorToProxmox(new TypeError('fetch failed', { cause: sysError('ERR_SSL_WRONG_VERSION_NUMBER') }), target);
  assert.deepEqual([notTls.code, notTls.message], [refused.code, refused.message]);
  assert.doesNotMatch(refused.message, /ECONNREFUSED/);
  const already = new ProxmoxError('guest_not_found', 'x');
  assert.equal(networkErrorToProxmox(already, target), already);
});

test('HTTP errors: decided on the status; the text only splits the 500 cases', () => {
  assert.equal(proxmoxHttpError(401, 'authentication failure', []).code, 'proxmox_auth_failed');
  assert.equal(proxmoxHttpError(401, '', []).code, 'proxmox_auth_failed');
  assert.equal(proxmoxHttpError(403, 'Permission check failed (/vms/100, VM.Console)', []).code, 'permission_denied');
  // The text of another status never changes the code.
  assert.equal(proxmoxHttpError(403, "Configuration file 'x' does not exist", []).code, 'permission_denied');
  assert.equal(proxmoxHttpError(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", []).code, 'guest_not_found');
  assert.equal(proxmoxHttpError(500, "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known", []).code, 'node_not_found');
  assert.equal(proxmoxHttpError(500, 'something else broke', []).code, 'proxmox_error');
  assert.equal(proxmoxHttpError(400, 'Parameter verification failed.', []).code, 'proxmox_error');
  assert.equal(proxmoxHttpError(595, 'Connection refused', []).code, 'proxmox_error');
  for (const err of [proxmoxHttpError(401, 'x', []), proxmoxHttpError(500, 'x', [])]) assert.equal(err.httpStatus, 502);
});

test('error messages never carry the secrets of the call', () => {
  const ticket = 'PVE:vncuser@pve:6F1E2D3C::c2lnbmF0dXJl';
  const err = proxmoxHttpError(400, `password 'hunter22' and ticket ${ticket} rejected`, ['hunter22', ticket, undefined]);
  assert.ok(!err.message.includes('hunter22'));
  assert.ok(!err.message.includes(ticket));
  assert.equal(redact('a-SECRET-b-SECRET', ['SECRET']), 'a-[redacted]-b-[redacted]');
  assert.ok(isProxmoxError(err, 'proxmox_error'));
  assert.ok(!isProxmoxError(err, 'guest_not_found'));
  assert.ok(!isProxmoxError(new Error('x')));
});
