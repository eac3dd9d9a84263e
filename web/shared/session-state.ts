/** What the gateway's `GET /console/<id>/state` says about the session, reduced to what the page acts on. */
export type SessionCheck = { kind: 'live' } | { kind: 'ended'; message?: string } | { kind: 'unknown' };

const STATE_TIMEOUT_MS = 5000;

export async function checkSession(stateUrl: string): Promise<SessionCheck> {
  let response: Response;
  try {
    response = await fetch(stateUrl, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(STATE_TIMEOUT_MS),
    });
  } catch {
    // The gateway is unreachable (network down, restarting): that says nothing about the session.
    return { kind: 'unknown' };
  }
  // The session is gone or this browser lost its cookie: either way no reconnect can succeed.
  if (response.status === 401 || response.status === 403 || response.status === 404) return { kind: 'ended' };
  if (!response.ok) return { kind: 'unknown' };
  try {
    const body = (await response.json()) as { state?: unknown; message?: unknown };
    if (body.state === 'ended') {
      return typeof body.message === 'string' && body.message !== '' ? { kind: 'ended', message: body.message } : { kind: 'ended' };
    }
    return body.state === 'created' || body.state === 'active' || body.state === 'disconnected' ? { kind: 'live' } : { kind: 'unknown' };
  } catch {
    return { kind: 'unknown' };
  }
}
