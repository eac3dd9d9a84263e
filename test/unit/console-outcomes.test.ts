// The outcome table both console pages share (src/console/outcomes.ts): its close codes are the
// gateway's, every outcome has words, ends are told apart by their reason, and a console that
// could not be opened is refused inside the RFB handshake with words noVNC shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { en } from '../../src/console/i18n/en.js';
import { CLOSE_CODES, OUTCOMES, refusalOutcome } from '../../src/console/outcomes.js';
import { ByteReader } from '../../src/console/rfb/byte-reader.js';
import { negotiateBrowserSecurity, securityResultFailure } from '../../src/console/rfb/downstream.js';
import { endedOutcome } from '../../src/console/routes.js';
import { VIEWER_LIMIT_CLOSE_CODE } from '../../src/console/socket.js';
import { CONSOLE_UNAVAILABLE_CLOSE_CODE, SERIAL_NOT_CONFIGURED_CLOSE_CODE } from '../../src/console/term/bridge.js';
import { checkDue, type SessionLimits } from '../../src/sessions/limits.js';
import { GATEWAY_RESTARTING_CLOSE_CODE, SESSION_ENDED_CLOSE_CODE } from '../../src/sessions/local-viewers.js';
import type { SessionRecord } from '../../src/sessions/record.js';

test("the pages' close codes are the ones the gateway closes with", () => {
  assert.equal(CLOSE_CODES.sessionEnded, SESSION_ENDED_CLOSE_CODE);
  assert.equal(CLOSE_CODES.viewerLimit, VIEWER_LIMIT_CLOSE_CODE);
  assert.equal(CLOSE_CODES.consoleUnavailable, CONSOLE_UNAVAILABLE_CLOSE_CODE);
  assert.equal(CLOSE_CODES.serialNotConfigured, SERIAL_NOT_CONFIGURED_CLOSE_CODE);
  assert.equal(CLOSE_CODES.restarting, GATEWAY_RESTARTING_CLOSE_CODE);
});

test('every outcome has a title and a text in the reference catalog, and only final ones never reconnect', () => {
  for (const code of Object.keys(OUTCOMES)) {
    assert.ok(Object.hasOwn(en, `outcome.${code}.title`), `${code} has a title`);
    assert.ok(Object.hasOwn(en, `outcome.${code}.text`), `${code} has a text`);
  }
  const never = Object.entries(OUTCOMES).filter(([, o]) => o.recovery === 'never').map(([code]) => code);
  assert.deepEqual(never.sort(), ['access_refused', 'frame_insecure', 'guest_gone', 'link_used', 'serial_not_configured', 'session_ended', 'session_expired', 'session_idle']);
  assert.equal(OUTCOMES.viewer_limit.recovery, 'manual');
  assert.equal(OUTCOMES.guest_stopped.recovery, 'watch');
  assert.equal(OUTCOMES.gateway_restarting.recovery, 'soon');
  assert.equal(OUTCOMES.network_lost.recovery, 'backoff');
});

test("a refused console's outcome follows the guest's condition", () => {
  assert.equal(refusalOutcome('stopped'), 'guest_stopped');
  assert.equal(refusalOutcome('missing'), 'guest_gone');
  assert.equal(refusalOutcome('denied'), 'access_refused');
  assert.equal(refusalOutcome('running'), 'console_unavailable');
  assert.equal(refusalOutcome(undefined), 'console_unavailable');
});

test('the reasons the session limits give map to expired and idle; any other end is "ended"', () => {
  const limits: SessionLimits = { maxSessions: 10, maxViewersPerSession: 2, reconnectGraceMs: 1000, idleTimeoutMs: 5000 };
  const base = { id: 'x', tokenPrefix: 'x', grantVersion: 0, createdAt: 0, lastInputAt: 0, viewers: {}, bytesToBrowser: 0, bytesToUpstream: 0 };
  const record = (r: Partial<SessionRecord>) => ({ ...base, ...r }) as unknown as SessionRecord;
  const reason = (due: ReturnType<typeof checkDue>) => (due.kind === 'end' ? due.reason : assert.fail(`no end: ${due.kind}`));
  assert.equal(endedOutcome(reason(checkDue(record({ expiresAt: 10 }), 20, limits, () => true))), 'session_expired');
  assert.equal(endedOutcome(reason(checkDue(record({ expiresAt: 1e9, viewers: { a: 1 } }), 6000, limits, () => true))), 'session_idle');
  assert.equal(endedOutcome(reason(checkDue(record({ expiresAt: 1e9, lastInputAt: 4000, unwatchedSince: 3000 }), 4500, limits, () => true))), 'session_expired');
  assert.equal(endedOutcome('ended by the backend'), 'session_ended');
  assert.equal(endedOutcome('gateway stopping'), 'session_ended');
});

test('a refusal inside the RFB handshake: version, security None, then SecurityResult failed with the reason', async () => {
  const reader = new ByteReader();
  const sent: Buffer[] = [];
  reader.push(Buffer.from('RFB 003.008\n\x01', 'latin1'));
  const reason = 'This console is already open in as many windows as allowed.';
  const failure = securityResultFailure(await negotiateBrowserSecurity(reader, (b) => sent.push(Buffer.from(b))), reason);
  assert.ok(failure);
  sent.push(failure);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(reason.length);
  assert.deepEqual(Buffer.concat(sent), Buffer.concat([Buffer.from('RFB 003.008\n\x01\x01\x00\x00\x00\x01', 'latin1'), length, Buffer.from(reason)]));

  const old = new ByteReader();
  old.push(Buffer.from('RFB 003.007\n\x01', 'latin1'));
  assert.equal(securityResultFailure(await negotiateBrowserSecurity(old, () => {}), reason), null, 'RFB 3.7 has no reason to carry');
});
