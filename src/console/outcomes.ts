/**
 * Why a console page has no console, and what the page does about it: one table for both pages
 * (noVNC and xterm.js) and the gateway's own message pages. Pure data: the browser bundle imports
 * it as well. Each outcome's words are the catalog's `outcome.<code>.title` and `.text`.
 */

/**
 * Websocket close codes the gateway closes a console with. The numbers are the gateway's
 * (src/sessions/local-viewers.ts, src/console/socket.ts, src/console/term/bridge.ts); a unit test
 * holds them equal, since the bundle cannot import those modules.
 */
export const CLOSE_CODES = {
  /** The session is over: ended by the backend, expired, or the gateway holding it stopped. */
  sessionEnded: 4000,
  /** The session has its maximum of viewers. */
  viewerLimit: 4001,
  /** The text console could not be opened; the reason says why, for people. */
  consoleUnavailable: 4002,
  /** The VM has no serial port a text console can attach to: no retry changes that. */
  serialNotConfigured: 4003,
  /** Too much or malformed input from the page (RFC 6455 "policy violation"). */
  policyViolation: 1008,
  /** This replica stops, the session does not (RFC 6455 "service restart"): reconnect at once. */
  restarting: 1012,
  /**
   * RFC 6455 "try again later": the gateway could not check the session now, or this text
   * console viewer had left the shared terminal unread while its co-viewers waited.
   */
  tryAgainLater: 1013,
} as const;

/**
 * What a reconnect can do:
 * - `never`: nothing will change (the page says so and offers no button);
 * - `manual`: not by itself, but the user may try again (a Retry button, no loop);
 * - `watch`: once something changes elsewhere (the page polls the session's state);
 * - `soon`: at once, through another replica;
 * - `backoff`: a few automatic attempts, further and further apart.
 */
export type Recovery = 'never' | 'manual' | 'watch' | 'soon' | 'backoff';

export const OUTCOMES = {
  viewer_limit: { recovery: 'manual' },
  session_ended: { recovery: 'never' },
  session_expired: { recovery: 'never' },
  session_idle: { recovery: 'never' },
  link_used: { recovery: 'never' },
  guest_stopped: { recovery: 'watch' },
  guest_gone: { recovery: 'never' },
  access_refused: { recovery: 'never' },
  console_unavailable: { recovery: 'manual' },
  serial_not_configured: { recovery: 'never' },
  gateway_restarting: { recovery: 'soon' },
  try_again_later: { recovery: 'backoff' },
  network_lost: { recovery: 'backoff' },
  frame_insecure: { recovery: 'never' },
} as const satisfies Record<string, { recovery: Recovery }>;

export type OutcomeCode = keyof typeof OUTCOMES;

/** Outcomes of a session that is over, as the state route reports them. */
export type EndedOutcome = Extract<OutcomeCode, 'session_ended' | 'session_expired' | 'session_idle'>;

/** How the guest stands, as far as the session's credentials can tell (`/console/<id>/state?guest=1`). */
export type GuestCondition = 'running' | 'stopped' | 'paused' | 'missing' | 'denied' | 'unknown';

export function isOutcomeCode(value: unknown): value is OutcomeCode {
  return typeof value === 'string' && Object.hasOwn(OUTCOMES, value);
}

/** The outcome of a console refused while the session lives, by what the guest's state says. */
export function refusalOutcome(guest: GuestCondition | undefined): OutcomeCode {
  switch (guest) {
    case 'stopped':
      return 'guest_stopped';
    case 'missing':
      return 'guest_gone';
    case 'denied':
      return 'access_refused';
    default:
      return 'console_unavailable';
  }
}
