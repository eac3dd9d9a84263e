import type { ConsoleChrome } from './chrome.js';
import { checkSession } from './session-state.js';

/** One console connection at a time; `close` must silence the old connection's events. */
export interface ConsoleTransport {
  open(): void;
  close(): void;
}

/** Waits before each automatic reconnect; their count bounds the attempts. */
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 10000, 10000];

const ENDED_MESSAGE = 'Open a new console from your control panel.';

type Phase = 'connecting' | 'connected' | 'waiting' | 'stopped' | 'ended';

/**
 * Connection life of a console page: reconnects with backoff after an unexpected drop, asks the
 * gateway first whether the session still exists, and stops for good once it has ended.
 */
export class ConnectionSupervisor {
  private phase: Phase = 'stopped';
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped whenever a pending reconnect must be forgotten (manual reconnect, end, refusal). */
  private generation = 0;

  constructor(
    private readonly transport: ConsoleTransport,
    private readonly stateUrl: string,
    private readonly chrome: ConsoleChrome,
  ) {}

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
  }

  /** The connection dropped, or could not be made, without the gateway giving a reason. */
  lost(): void {
    if (this.phase !== 'connecting' && this.phase !== 'connected') return;
    this.phase = 'waiting';
    void this.reconnectLater(++this.generation);
  }

  /** The gateway refused the connection and said why (RFB SecurityResult failure). */
  refused(reason: string | undefined): void {
    if (this.phase === 'ended') return;
    this.phase = 'stopped';
    const generation = ++this.generation;
    this.chrome.setState('disconnected');
    void checkSession(this.stateUrl).then((check) => {
      if (generation !== this.generation) return;
      if (check.kind === 'ended') {
        this.end(check.message);
        return;
      }
      this.chrome.showNotice({
        tone: 'error',
        heading: 'The console could not be opened',
        message: reason ?? 'The server did not allow the connection.',
        detail: 'This can happen while the server is starting or stopping. Try again in a moment.',
        action: { label: 'Retry', run: () => this.start() },
      });
    });
  }

  private open(state: 'connecting' | 'reconnecting'): void {
    this.phase = 'connecting';
    this.chrome.setState(state);
    if (state === 'connecting') this.chrome.showNotice({ tone: 'progress', heading: 'Connecting to the console…' });
    this.transport.open();
  }

  private async reconnectLater(generation: number): Promise<void> {
    if (this.attempts >= RECONNECT_DELAYS_MS.length) {
      this.giveUp();
      return;
    }
    const attempt = ++this.attempts;
    this.chrome.setState('reconnecting');
    this.chrome.showNotice({
      tone: 'progress',
      heading: 'Connection lost. Reconnecting…',
      message: `Attempt ${attempt} of ${RECONNECT_DELAYS_MS.length}`,
      action: { label: 'Reconnect now', run: () => this.start() },
    });
    const check = await checkSession(this.stateUrl);
    if (generation !== this.generation) return;
    if (check.kind === 'ended') {
      this.end(check.message);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (generation === this.generation) this.open('reconnecting');
    }, RECONNECT_DELAYS_MS[attempt - 1]);
  }

  private giveUp(): void {
    this.phase = 'stopped';
    this.chrome.setState('disconnected');
    this.chrome.showNotice({
      tone: 'error',
      heading: 'The console is disconnected',
      message: 'We could not reconnect to the console. Check your internet connection, then try again.',
      action: { label: 'Reconnect', run: () => this.start() },
    });
  }

  private end(message: string | undefined): void {
    this.cancelPending();
    this.phase = 'ended';
    this.transport.close();
    this.chrome.setState('ended');
    this.chrome.showNotice({
      tone: 'ended',
      heading: 'This console session has ended.',
      message: ENDED_MESSAGE,
      ...(message ? { detail: message } : {}),
    });
  }

  private cancelPending(): void {
    this.generation++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
