import { CLOSE_CODES, OUTCOMES, refusalOutcome, type OutcomeCode } from '../../src/console/outcomes.js';
import type { ConsoleChrome } from './chrome.js';
import { t } from './i18n.js';
import { checkSession, type SessionCheck } from './session-state.js';

/** One console connection at a time; `close` must silence the old connection's events. */
export interface ConsoleTransport {
  open(): void;
  close(): void;
}

/** How a connection ended, as far as the page could see. */
export interface ConnectionEnd {
  code?: number;
  reason?: string;
  /**
   * The gateway refused the console and said so: an RFB SecurityResult failure, or the text
   * console's close with CLOSE_CODES.consoleUnavailable.
   */
  refused?: boolean;
}

/** What the page tells an embedding panel (web/shared/embedding.ts). */
export type ConsoleEvent = { kind: 'connected' } | { kind: 'disconnected' } | { kind: 'ended'; outcome: OutcomeCode };

/** Waits before each automatic reconnect; their count bounds the attempts. */
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 10000, 10000];
/** A replica that stops sends its viewers elsewhere: a moment's spread keeps them from arriving at once. */
const RESTART_DELAY_MS = 300;
const RESTART_SPREAD_MS = 1200;
/** How often a page whose guest is stopped asks whether it runs again. */
const WATCH_INTERVAL_MS = 4000;

/** The gateway's bridge closes with this reason when the console could not be opened before RFB began. */
const UNAVAILABLE_REASON = 'console unavailable';

type Phase = 'idle' | 'connecting' | 'connected' | 'deciding' | 'waiting' | 'watching' | 'stopped' | 'ended';

/** What the close itself says, before the session's state is asked. */
type FirstVerdict = OutcomeCode | 'refused' | 'lost';

function firstVerdict(end: ConnectionEnd): FirstVerdict {
  switch (end.code) {
    case CLOSE_CODES.viewerLimit:
      return 'viewer_limit';
    case CLOSE_CODES.sessionEnded:
      return 'session_ended';
    case CLOSE_CODES.restarting:
      return 'gateway_restarting';
    case CLOSE_CODES.tryAgainLater:
      return 'try_again_later';
    case CLOSE_CODES.policyViolation:
      return 'console_unavailable';
    case CLOSE_CODES.consoleUnavailable:
      return 'refused';
    case CLOSE_CODES.serialNotConfigured:
      return 'serial_not_configured';
  }
  return end.refused || end.reason === UNAVAILABLE_REASON ? 'refused' : 'lost';
}

/** The outcome, once the session's state is known: an ended session outranks what the close said. */
function decide(verdict: FirstVerdict, check: SessionCheck): OutcomeCode {
  if (check.kind === 'ended') return check.outcome;
  if (verdict === 'refused') return refusalOutcome(check.kind === 'live' ? check.guest : undefined);
  if (verdict !== 'lost') return verdict;
  if (check.kind === 'unknown') return 'network_lost';
  // The console dropped while the session lives: a guest that stopped or vanished explains it.
  const guestOutcome = refusalOutcome(check.guest);
  return guestOutcome === 'guest_stopped' || guestOutcome === 'guest_gone' ? guestOutcome : 'network_lost';
}

/**
 * Connection life of a console page: every end of a connection becomes one outcome of the shared
 * table (src/console/outcomes.ts), told to the user once, and handled as the table says: final
 * outcomes never reconnect, a stopped guest is watched until it runs, drops reconnect with backoff.
 */
export class ConnectionSupervisor {
  private phase: Phase = 'idle';
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped whenever pending work must be forgotten (manual reconnect, end, a newer close). */
  private generation = 0;
  private guestAction: { label: string; run: () => void } | null = null;

  constructor(
    private readonly transport: ConsoleTransport,
    private readonly stateUrl: string,
    private readonly chrome: ConsoleChrome,
    private readonly onEvent: (event: ConsoleEvent) => void = () => {},
  ) {}

  /** An extra button on the "guest stopped" notice (e.g. power on), or null. */
  setGuestAction(action: { label: string; run: () => void } | null): void {
    this.guestAction = action;
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  start(): void {
    if (this.phase === 'ended') return;
    this.cancelPending();
    this.attempts = 0;
    this.transport.close();
    this.open('connecting');
  }

  connected(): void {
    if (this.phase !== 'connecting') return;
    this.phase = 'connected';
    this.attempts = 0;
    this.chrome.setState('connected');
    this.chrome.showNotice(null);
    this.onEvent({ kind: 'connected' });
  }

  /** The current connection ended or could not be made. */
  closed(end: ConnectionEnd): void {
    if (this.phase !== 'connecting' && this.phase !== 'connected') return;
    if (this.phase === 'connected') this.onEvent({ kind: 'disconnected' });
    this.phase = 'deciding';
    const generation = ++this.generation;
    const verdict = firstVerdict(end);
    if (verdict === 'gateway_restarting') {
      // The replica is going away: its state route may not answer, and the next one will tell.
      this.settle('gateway_restarting');
      return;
    }
    void checkSession(this.stateUrl, { guest: verdict === 'refused' || verdict === 'lost' }).then((check) => {
      if (generation === this.generation) this.settle(decide(verdict, check));
    });
  }

  private settle(outcome: OutcomeCode): void {
    switch (OUTCOMES[outcome].recovery) {
      case 'never':
        return this.end(outcome);
      case 'manual':
        return this.halt(outcome);
      case 'watch':
        return this.watch(outcome);
      case 'soon':
        return this.reconnectLater(outcome, RESTART_DELAY_MS + Math.random() * RESTART_SPREAD_MS);
      case 'backoff':
        return this.reconnectLater(outcome, RECONNECT_DELAYS_MS[this.attempts]);
    }
  }

  private open(state: 'connecting' | 'reconnecting'): void {
    this.phase = 'connecting';
    this.chrome.setState(state);
    if (state === 'connecting') this.chrome.showNotice({ tone: 'progress', heading: t('notice.connecting') });
    this.transport.open();
  }

  private reconnectLater(outcome: OutcomeCode, delay: number | undefined): void {
    if (delay === undefined || this.attempts >= RECONNECT_DELAYS_MS.length) {
      this.giveUp(outcome);
      return;
    }
    const attempt = ++this.attempts;
    const generation = this.generation;
    this.phase = 'waiting';
    this.chrome.setState('reconnecting');
    this.chrome.showNotice({
      tone: 'progress',
      heading: t(`outcome.${outcome}.title`),
      message: t(`outcome.${outcome}.text`),
      detail: t('notice.attempt', { attempt, total: RECONNECT_DELAYS_MS.length }),
      action: { label: t('action.reconnect_now'), run: () => this.start() },
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (generation === this.generation) this.open('reconnecting');
    }, delay);
  }

  private giveUp(outcome: OutcomeCode): void {
    this.phase = 'stopped';
    this.chrome.setState('disconnected');
    const network = outcome === 'network_lost';
    this.chrome.showNotice({
      tone: 'error',
      heading: network ? t('notice.gave_up.title') : t(`outcome.${outcome}.title`),
      message: network ? t('notice.gave_up.text') : t(`outcome.${outcome}.text`),
      action: { label: t('action.reconnect'), run: () => this.start() },
    });
  }

  /** Nothing changes by waiting, but the user may try again. */
  private halt(outcome: OutcomeCode): void {
    this.phase = 'stopped';
    this.chrome.setState('disconnected');
    this.chrome.showNotice({
      tone: 'error',
      heading: t(`outcome.${outcome}.title`),
      message: t(`outcome.${outcome}.text`),
      action: { label: t('action.retry'), run: () => this.start() },
    });
  }

  /** The guest is stopped: ask now and then whether it runs again, and connect once it does. */
  private watch(outcome: OutcomeCode): void {
    this.phase = 'watching';
    const generation = this.generation;
    this.chrome.setState('waiting');
    this.chrome.showNotice({
      tone: 'waiting',
      heading: t(`outcome.${outcome}.title`),
      message: t(`outcome.${outcome}.text`),
      ...(this.guestAction ? { action: this.guestAction } : {}),
    });
    const look = (): void => {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void checkSession(this.stateUrl, { guest: true }).then((check) => {
          if (generation !== this.generation) return;
          if (check.kind === 'ended') return this.end(check.outcome);
          if (check.kind === 'live' && check.guest === 'running') return this.start();
          if (check.kind === 'live' && check.guest === 'missing') return this.end('guest_gone');
          look();
        });
      }, WATCH_INTERVAL_MS);
    };
    look();
  }

  private end(outcome: OutcomeCode): void {
    this.cancelPending();
    this.phase = 'ended';
    this.transport.close();
    this.chrome.setState('ended');
    this.chrome.showNotice({
      tone: outcome === 'access_refused' || outcome === 'guest_gone' ? 'error' : 'ended',
      final: true,
      heading: t(`outcome.${outcome}.title`),
      message: t(`outcome.${outcome}.text`),
    });
    this.onEvent({ kind: 'ended', outcome });
  }

  private cancelPending(): void {
    this.generation++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
