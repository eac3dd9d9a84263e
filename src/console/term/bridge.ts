import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../../log.js';
import { isProxmoxError, ProxmoxError } from '../../proxmox/errors.js';
import { closeUpstream, toBuffer } from '../../proxmox/upstream-socket.js';
import { MAX_UPSTREAM_FRAME, relay, sendFrames } from '../relay.js';
import { userFacingReason } from '../vnc-bridge.js';
import type { MessageBudget } from '../message-budget.js';
import type { LoggedInTerminal } from '../../proxmox/term-login.js';
import { encodeTermMessage, termInputFilter, TermProtocolError } from './messages.js';

/** Close code the page reads as "the console could not be opened", with the reason to show. */
export const CONSOLE_UNAVAILABLE_CLOSE_CODE = 4002;
/** As the Proxmox web client does: termproxy and pveproxy count only traffic as activity. */
const KEEP_ALIVE_MS = 30_000;
/** What the page may send before the terminal is ready: a resize and a few early keystrokes. */
const MAX_EARLY_BYTES = 64 * 1024;
/**
 * Sent once the terminal is logged in: the page counts as connected from then on, not from the
 * websocket's opening (a serial console may print nothing until a key is pressed). Terminal
 * output is never empty, so the signal cannot be mistaken for it.
 */
const TERMINAL_READY = Buffer.alloc(0);
const PING = encodeTermMessage({ kind: 'ping' });

export interface TermBridgeOptions {
  /** termproxy, the websocket and the login, nothing else: user and ticket stay out of the bridge. */
  openUpstream: () => Promise<LoggedInTerminal>;
  /** From the browser's connection to the terminal's login answer. */
  handshakeTimeoutMs: number;
  /** Input messages are dropped; resizes and pings pass. */
  viewOnly: boolean;
  /** Counts every browser message, from the first; a flood ends the connection (1008). */
  budget: MessageBudget;
  log: Logger;
  keepAliveMs?: number;
  /** The user typed or pasted (what the idle timeout watches). */
  onInput?(): void;
  onFirstFrame?(): void;
  onBytes?(toBrowser: number, toUpstream: number): void;
}

export interface TermBridgeOutcome {
  reason: 'browser_closed' | 'upstream_closed' | 'upstream_failed' | 'protocol_error';
  error?: Error;
}

/** What the page shows when the terminal could not be opened: nothing about Proxmox itself. */
export function termFailureReason(err: Error): string {
  if (isProxmoxError(err, 'xterm_requires_password')) {
    return 'This text console is not available with the access set up for it. Please contact your provider.';
  }
  return userFacingReason(err);
}

type Opening = { kind: 'ready'; terminal: LoggedInTerminal } | { kind: 'failed'; error: Error } | { kind: 'browser'; error?: Error };

/**
 * Serves one browser websocket with a fresh, logged-in termproxy terminal: the browser's
 * termproxy-format messages are checked and re-encoded on their way up, the terminal's bytes go
 * down unchanged. A failure before the terminal is ready closes the browser's websocket with
 * CONSOLE_UNAVAILABLE_CLOSE_CODE and a reason meant for the user.
 */
export async function runTermBridge(browser: WebSocket, opts: TermBridgeOptions): Promise<TermBridgeOutcome> {
  const { log } = opts;
  const onBytes = opts.onBytes ?? (() => {});
  const filter = termInputFilter(opts.viewOnly, opts.onInput);
  const fromBrowser = (chunk: Buffer): Buffer => {
    opts.budget.spend();
    return filter(chunk);
  };
  const early: Buffer[] = [];
  let earlyBytes = 0;

  let browserLeft: (error?: Error) => void = () => {};
  const browserEnd = new Promise<Opening>((resolve) => {
    browserLeft = (error) => resolve(error ? { kind: 'browser', error } : { kind: 'browser' });
  });
  const onEarlyMessage = (data: RawData) => {
    try {
      const bytes = fromBrowser(toBuffer(data));
      earlyBytes += bytes.length;
      if (earlyBytes > MAX_EARLY_BYTES) throw new TermProtocolError('too much input before the terminal was ready');
      early.push(bytes);
    } catch (err) {
      browserLeft(err as Error);
    }
  };
  const onEarlyClose = () => browserLeft();
  browser.on('error', (err) => log.debug('browser websocket error', { error: err.message }));
  browser.on('message', onEarlyMessage);
  browser.on('close', onEarlyClose);
  if (browser.readyState !== WebSocket.OPEN) browserLeft();

  const opening = opts.openUpstream();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Opening>((resolve) => {
    timer = setTimeout(() => {
      const error = new ProxmoxError('proxmox_timeout', `The terminal did not open within ${opts.handshakeTimeoutMs} ms.`);
      resolve({ kind: 'failed', error });
    }, opts.handshakeTimeoutMs);
  });
  const first = await Promise.race([
    opening.then(
      (terminal): Opening => ({ kind: 'ready', terminal }),
      (error: unknown): Opening => ({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) }),
    ),
    browserEnd,
    deadline,
  ]);
  clearTimeout(timer);
  browser.off('message', onEarlyMessage);
  browser.off('close', onEarlyClose);

  if (first.kind !== 'ready') {
    // A terminal that opens after the browser left or the deadline passed is closed at once.
    opening.then((terminal) => closeUpstream(terminal.ws), () => {});
    if (first.kind === 'browser') {
      if (!first.error) return { reason: 'browser_closed' };
      if (browser.readyState === WebSocket.OPEN) browser.close(1008, 'protocol error');
      return { reason: 'protocol_error', error: first.error };
    }
    log.warn('terminal could not be opened', { error: first.error.message });
    if (browser.readyState === WebSocket.OPEN) browser.close(CONSOLE_UNAVAILABLE_CLOSE_CODE, termFailureReason(first.error));
    return { reason: 'upstream_failed', error: first.error };
  }

  // From here to relay() all is synchronous: no byte of either side can slip between listeners.
  const upstream = first.terminal.ws;
  upstream.on('error', (err) => log.debug('upstream websocket error', { error: err.message }));
  const output = first.terminal.takeOutput();
  const sendToUpstream = (bytes: Buffer) => onBytes(0, sendFrames(upstream, bytes, MAX_UPSTREAM_FRAME));
  if (browser.readyState === WebSocket.OPEN) browser.send(TERMINAL_READY, { binary: true, compress: false, fin: true });
  if (output.length > 0) {
    opts.onFirstFrame?.();
    onBytes(sendFrames(browser, output, Number.POSITIVE_INFINITY), 0);
  }
  for (const bytes of early) sendToUpstream(bytes);
  const keepAlive = setInterval(() => sendToUpstream(PING), opts.keepAliveMs ?? KEEP_ALIVE_MS);
  const ended = relay(browser, upstream, {
    onBytes,
    fromBrowser,
    onFirstUpstreamMessage: output.length > 0 ? undefined : opts.onFirstFrame,
  });
  upstream.resume();
  const end = await ended;
  clearInterval(keepAlive);
  if (end.invalidBrowserData) return { reason: 'protocol_error', error: end.invalidBrowserData };
  return { reason: end.closedBy === 'browser' ? 'browser_closed' : 'upstream_closed', ...(end.error ? { error: end.error } : {}) };
}
