import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../../log.js';
import { isProxmoxError } from '../../proxmox/errors.js';
import { toBuffer } from '../../proxmox/upstream-socket.js';
import { CLOSE_CODES } from '../outcomes.js';
import { sendFrames } from '../relay.js';
import { userFacingReason } from '../vnc-bridge.js';
import type { MessageBudget } from '../message-budget.js';
import type { JoinedViewer, TermViewer, ViewerOptions } from './shared-terminal.js';

/** Close code the page reads as "the console could not be opened", with the reason to show. */
export const CONSOLE_UNAVAILABLE_CLOSE_CODE = 4002;
/** Close code the page reads as "this guest has no serial port to open": nothing a retry changes. */
export const SERIAL_NOT_CONFIGURED_CLOSE_CODE = 4003;
/**
 * Sent once the terminal is logged in: the page counts as connected from then on, not from the
 * websocket's opening (a serial console may print nothing until a key is pressed). Terminal
 * output is never empty, so the signal cannot be mistaken for it.
 */
const TERMINAL_READY = Buffer.alloc(0);

export interface TermBridgeOptions {
  /** Joins the session's shared terminal (SharedTerminals.join, bound to the session and its opening). */
  join(viewer: TermViewer, options: ViewerOptions): JoinedViewer;
  /** Input messages are dropped; resizes and pings pass. */
  viewOnly: boolean;
  /** Counts every browser message, from the first; a flood ends the connection (1008). */
  budget: MessageBudget;
  log: Logger;
  /** The user typed or pasted (what the idle timeout watches). */
  onInput?(): void;
  onFirstFrame?(): void;
  onBytes?(toBrowser: number, toUpstream: number): void;
}

export interface TermBridgeOutcome {
  reason: 'browser_closed' | 'browser_too_slow' | 'upstream_closed' | 'upstream_failed' | 'protocol_error';
  error?: Error;
}

/** What the page shows when the terminal could not be opened: nothing about Proxmox itself. */
export function termFailureReason(err: Error): string {
  if (isProxmoxError(err, 'xterm_requires_password')) {
    return 'This text console is not available with the access set up for it. Please contact your provider.';
  }
  if (isProxmoxError(err, 'serial_not_configured')) return 'This virtual machine has no serial console.';
  return userFacingReason(err);
}

/**
 * Serves one browser websocket as a viewer of the session's shared terminal: the browser's
 * termproxy-format messages are checked on their way up, the terminal's bytes come down
 * unchanged. A failure to open the terminal closes the browser's websocket with
 * CONSOLE_UNAVAILABLE_CLOSE_CODE (or SERIAL_NOT_CONFIGURED_CLOSE_CODE) and a reason meant for the user.
 */
export function runTermBridge(browser: WebSocket, opts: TermBridgeOptions): Promise<TermBridgeOutcome> {
  const { log } = opts;
  const onBytes = opts.onBytes ?? (() => {});
  let firstFrame = opts.onFirstFrame;
  browser.on('error', (err) => log.debug('browser websocket error', { error: err.message }));
  if (browser.readyState !== WebSocket.OPEN) return Promise.resolve({ reason: 'browser_closed' });
  return new Promise((resolve) => {
    let finished = false;
    const finish = (outcome: TermBridgeOutcome) => {
      if (finished) return;
      finished = true;
      browser.off('message', onMessage);
      browser.off('close', onClose);
      member.leave();
      resolve(outcome);
    };
    const viewer: TermViewer = {
      ready: () => {
        if (browser.readyState === WebSocket.OPEN) browser.send(TERMINAL_READY, { binary: true, compress: false, fin: true });
      },
      output: (bytes, written) => {
        const sent = sendFrames(browser, bytes, Number.POSITIVE_INFINITY, () => written());
        if (sent === 0) {
          written();
          return;
        }
        firstFrame?.();
        firstFrame = undefined;
        onBytes(sent, 0);
      },
      ended: (end) => {
        if (browser.readyState === WebSocket.OPEN) {
          if (end.reason === 'upstream_failed') {
            const code = isProxmoxError(end.error, 'serial_not_configured') ? SERIAL_NOT_CONFIGURED_CLOSE_CODE : CONSOLE_UNAVAILABLE_CLOSE_CODE;
            browser.close(code, termFailureReason(end.error));
          } else if (end.reason === 'browser_too_slow') {
            // The page reconnects on it, and is sent the recent output.
            browser.close(CLOSE_CODES.tryAgainLater, 'too slow a connection');
          } else {
            browser.close(1000, 'console closed');
          }
        }
        finish(end);
      },
    };
    const onMessage = (data: RawData) => {
      try {
        opts.budget.spend();
        member.input(toBuffer(data));
      } catch (error) {
        if (browser.readyState === WebSocket.OPEN) browser.close(1008, 'protocol error');
        finish({ reason: 'protocol_error', error: error as Error });
      }
    };
    const onClose = () => finish({ reason: 'browser_closed' });
    // The terminal only ends a viewer from a later turn, never within join().
    const member: JoinedViewer = opts.join(viewer, { viewOnly: opts.viewOnly, ...(opts.onInput ? { onInput: opts.onInput } : {}), onSent: (n) => onBytes(0, n) });
    browser.on('message', onMessage);
    browser.on('close', onClose);
  });
}
