import { isOutcomeCode, type EndedOutcome, type GuestCondition } from '../../src/console/outcomes.js';

/** What the gateway's `GET /console/<id>/state` says about the session, reduced to what the page acts on. */
export type SessionCheck =
  | { kind: 'live'; guest?: GuestCondition }
  | { kind: 'ended'; outcome: EndedOutcome }
  | { kind: 'unknown' };

const STATE_TIMEOUT_MS = 8000;
const GUEST_CONDITIONS = new Set<string>(['running', 'stopped', 'paused', 'missing', 'denied', 'unknown']);
const ENDED_OUTCOMES = new Set<string>(['session_ended', 'session_expired', 'session_idle']);

/** `guest`: also ask how the guest stands (one Proxmox call on the gateway's side). */
export async function checkSession(stateUrl: string, opts: { guest?: boolean } = {}): Promise<SessionCheck> {
  let response: Response;
  try {
    response = await fetch(opts.guest ? `${stateUrl}?guest=1` : stateUrl, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(STATE_TIMEOUT_MS),
    });
  } catch {
    // The gateway is unreachable (network down, restarting): that says nothing about the session.
    return { kind: 'unknown' };
  }
  let body: { state?: unknown; outcome?: unknown; guest?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not the gateway's JSON (a proxy's error page): judged by the status alone
  }
  // The session is gone or this browser lost its cookie: either way no reconnect can succeed.
  if (response.status === 401 || response.status === 403 || response.status === 404 || body.state === 'ended') {
    const outcome = isOutcomeCode(body.outcome) && ENDED_OUTCOMES.has(body.outcome) ? (body.outcome as EndedOutcome) : 'session_ended';
    return { kind: 'ended', outcome };
  }
  if (!response.ok) return { kind: 'unknown' };
  if (body.state !== 'created' && body.state !== 'active' && body.state !== 'disconnected') return { kind: 'unknown' };
  return typeof body.guest === 'string' && GUEST_CONDITIONS.has(body.guest) ? { kind: 'live', guest: body.guest as GuestCondition } : { kind: 'live' };
}
