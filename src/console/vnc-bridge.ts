import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../log.js';
import { isProxmoxError, ProxmoxError } from '../proxmox/errors.js';
import { closeUpstream, toBuffer } from '../proxmox/upstream-socket.js';
import { MAX_UPSTREAM_FRAME, relay, sendFrames } from './relay.js';
import { ByteReader } from './rfb/byte-reader.js';
import { negotiateBrowserSecurity, securityResultFailure, securityResultOk, type BrowserRfbVersion } from './rfb/downstream.js';
import { RfbAuthFailedError, RfbStreamClosedError } from './rfb/errors.js';
import type { MessageBudget } from './message-budget.js';
import { ClientMessageFilter, KEEP_ALIVE_MESSAGE } from './rfb/client-messages.js';
import { readClientInit, readServerInitRenamed, SHARED_CLIENT_INIT } from './rfb/init.js';
import { authenticateUpstream } from './rfb/upstream.js';

export interface VncBridgeOptions {
  /**
   * vncproxy and the websocket dial, nothing else: the bridge authenticates itself. The socket
   * may come paused (ProxmoxClient.openVncWebsocket does); the bridge resumes it when listening.
   */
  openUpstream: () => Promise<{ ws: WebSocket; vncPassword: string; authenticated?: () => void }>;
  /**
   * Desktop name shown to the browser instead of the upstream's; read once the upstream is open,
   * since opening it may be what first learns the guest's name.
   */
  title: () => string;
  /** From the browser's connection to the relayed ServerInit. */
  handshakeTimeoutMs: number;
  /** Drop the browser's keyboard, pointer, clipboard and resize messages. */
  viewOnly: boolean;
  /** The longest clipboard text the browser may send. */
  clipboardMaxBytes: number;
  /** Counts every browser message, from the first; a flood ends the connection (1008). */
  budget: MessageBudget;
  /** The user typed, moved the pointer or pasted (what the idle timeout watches). */
  onInput?(): void;
  /** Quiet time after which the gateway sends RFB traffic of its own upstream (default 5 min). */
  keepAliveMs?: number;
  log: Logger;
  onFirstFrame?(): void;
  onBytes?(toBrowser: number, toUpstream: number): void;
  /**
   * Records this connection (`record`): called with the ServerInit the browser got, nothing of the
   * handshake before it; then sees what goes to the browser and what the browser sends on.
   */
  record?(serverInit: Buffer): VncConnectionRecorder;
}

export interface VncConnectionRecorder {
  /** Bytes relayed to the browser (copied before returning). */
  toBrowser(chunk: Buffer): void;
  /** Browser messages as forwarded upstream, after the checks. */
  fromBrowser(message: Buffer): void;
}

export interface VncBridgeOutcome {
  reason: 'browser_closed' | 'upstream_closed' | 'upstream_failed' | 'protocol_error';
  error?: Error;
}

const DEFAULT_KEEP_ALIVE_MS = 5 * 60 * 1000;

class HandshakeTimeoutError extends Error {
  constructor(side: string, ms: number) {
    super(`the ${side} did not complete the RFB handshake within ${ms} ms`);
    this.name = 'HandshakeTimeoutError';
  }
}

/**
 * The deadline ran out. Proxmox's side is a Proxmox timeout, with the control API's code: the
 * deadline starts before the Proxmox calls' own timeouts do, so it is usually what ends a slow
 * opening, and the backend must still learn why the console did not open (/status last_error).
 */
function handshakeTimeout(side: 'browser' | 'upstream', ms: number): Error {
  if (side === 'browser') return new HandshakeTimeoutError('browser', ms);
  return new ProxmoxError('proxmox_timeout', `Proxmox did not open the console within ${ms} ms.`, { cause: new HandshakeTimeoutError('console', ms) });
}

/** A failure tagged with the side it came from, which decides the outcome. */
class SideError extends Error {
  constructor(
    readonly side: 'browser' | 'upstream',
    readonly error: Error,
  ) {
    super(error.message);
  }
}

/** What the browser is told when the upstream fails: nothing about Proxmox itself. */
export function userFacingReason(err: Error): string {
  if (isProxmoxError(err, 'guest_not_running')) return 'The server is not running. Start it from your control panel, then reconnect.';
  if (isProxmoxError(err, 'guest_not_found')) return 'This server no longer exists.';
  if (isProxmoxError(err, 'permission_denied') || isProxmoxError(err, 'proxmox_auth_failed')) return 'Access to the console was refused.';
  if (err instanceof RfbAuthFailedError) return 'The console refused the connection.';
  return 'The console could not be reached.';
}

function recordedInput(checked: (data: Buffer) => Buffer, recorder: VncConnectionRecorder): (data: Buffer) => Buffer {
  return (data) => {
    const forwarded = checked(data);
    if (forwarded.length > 0) recorder.fromBrowser(forwarded);
    return forwarded;
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Serves one browser websocket as an RFB server offering security type None, backed by a fresh
 * upstream console that the bridge authenticates itself (the VNC password never reaches the
 * browser), then relays both ways until either side closes.
 */
export async function runVncBridge(browser: WebSocket, opts: VncBridgeOptions): Promise<VncBridgeOutcome> {
  const { log } = opts;
  const onBytes = opts.onBytes ?? (() => {});
  const browserReader = new ByteReader();
  const upstreamReader = new ByteReader();
  let upstream: WebSocket | undefined;
  let abandoned = false;

  const onBrowserError = (err: Error) => log.debug('browser websocket error', { error: err.message });
  const onUpstreamError = (err: Error) => log.debug('upstream websocket error', { error: err.message });
  const onBrowserMessage = (data: RawData) => {
    try {
      opts.budget.spend();
    } catch (err) {
      browserReader.fail(asError(err));
      return;
    }
    browserReader.push(toBuffer(data));
  };
  const onBrowserClose = () => browserReader.fail(new RfbStreamClosedError('the browser closed the connection'));
  const onUpstreamMessage = (data: RawData) => upstreamReader.push(toBuffer(data));
  const onUpstreamClose = () => upstreamReader.fail(new RfbStreamClosedError('the console closed the connection during the handshake'));
  browser.on('error', onBrowserError);
  browser.on('message', onBrowserMessage);
  browser.on('close', onBrowserClose);

  const sendToBrowser = (bytes: Buffer) => onBytes(sendFrames(browser, bytes, Number.POSITIVE_INFINITY), 0);
  const sendToUpstream = (bytes: Buffer) => {
    if (upstream) onBytes(0, sendFrames(upstream, bytes, MAX_UPSTREAM_FRAME));
  };

  const openAndAuthenticate = async () => {
    const opened = await opts.openUpstream();
    try {
      opened.ws.on('error', onUpstreamError);
      if (abandoned) {
        closeUpstream(opened.ws);
        throw new Error('the browser left before the console opened');
      }
      upstream = opened.ws;
      upstream.on('message', onUpstreamMessage);
      upstream.on('close', onUpstreamClose);
      if (upstream.readyState !== WebSocket.OPEN) onUpstreamClose();
      upstream.resume();
      await authenticateUpstream(upstreamReader, sendToUpstream, opened.vncPassword);
    } finally {
      opened.authenticated?.();
    }
  };

  const DEADLINE = Symbol('deadline');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(DEADLINE), opts.handshakeTimeoutMs);
  });
  deadline.catch(() => {});
  const sideStep = <T>(side: 'browser' | 'upstream', step: Promise<T>): Promise<T> =>
    Promise.race([step, deadline]).catch((err: unknown) => {
      throw new SideError(side, err === DEADLINE ? handshakeTimeout(side, opts.handshakeTimeoutMs) : asError(err));
    });

  const upstreamReady = sideStep('upstream', openAndAuthenticate());
  upstreamReady.catch(() => {});
  let version: BrowserRfbVersion | undefined;
  /** Once the browser has its SecurityResult OK, a failure can only close the connection. */
  let resultSent = false;
  let recorder: VncConnectionRecorder | undefined;

  try {
    if (browser.readyState !== WebSocket.OPEN) throw new SideError('browser', new RfbStreamClosedError('the browser closed the connection'));
    version = await sideStep('browser', negotiateBrowserSecurity(browserReader, sendToBrowser));
    // Waiting for the console must not outlast the browser.
    await Promise.race([upstreamReady, sideStep('browser', browserReader.failed())]);
    sendToBrowser(securityResultOk(version));
    resultSent = true;
    await sideStep('browser', readClientInit(browserReader));
    sendToUpstream(SHARED_CLIENT_INIT);
    const serverInit = await sideStep('upstream', readServerInitRenamed(upstreamReader, opts.title()));
    sendToBrowser(serverInit);
    recorder = opts.record?.(serverInit);
  } catch (err) {
    clearTimeout(timer);
    abandoned = true;
    return failHandshake(err instanceof SideError ? err : new SideError('upstream', asError(err)), resultSent ? undefined : version);
  }
  clearTimeout(timer);

  // Nothing may be lost between the handshake's listeners and the relay's: both are swapped
  // synchronously, and bytes that arrived early are forwarded first.
  const consoleWs = upstream!;
  browser.off('message', onBrowserMessage);
  browser.off('close', onBrowserClose);
  consoleWs.off('message', onUpstreamMessage);
  consoleWs.off('close', onUpstreamClose);
  // Every browser message is checked before Proxmox sees it; a view-only viewer's input is dropped.
  const browserMessages = new ClientMessageFilter(opts.viewOnly, opts.onInput, opts.clipboardMaxBytes);
  let earlyFromBrowser: Buffer;
  try {
    earlyFromBrowser = browserMessages.push(browserReader.drain());
  } catch (err) {
    closeUpstream(consoleWs);
    browser.close(1008, 'protocol error');
    return { reason: 'protocol_error', error: asError(err) };
  }
  sendToUpstream(earlyFromBrowser);
  if (recorder && earlyFromBrowser.length > 0) recorder.fromBrowser(earlyFromBrowser);
  const early = upstreamReader.drain();
  if (early.length > 0) {
    opts.onFirstFrame?.();
    recorder?.toBrowser(early);
  }
  sendToBrowser(early);
  // Any byte either way resets Proxmox's idle cut; after a quiet spell, send one of our own, but
  // only between two browser messages.
  const checkedInput = (data: Buffer): Buffer => {
    opts.budget.spend();
    return browserMessages.push(data);
  };
  const keepAliveMs = opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  let lastTraffic = Date.now();
  const keepAlive = setInterval(() => {
    if (Date.now() - lastTraffic < keepAliveMs || !browserMessages.atBoundary) return;
    sendToUpstream(KEEP_ALIVE_MESSAGE);
    lastTraffic = Date.now();
  }, Math.max(50, keepAliveMs / 4));
  keepAlive.unref();
  const end = await relay(browser, consoleWs, {
    onBytes: (toBrowser, toUpstream) => {
      lastTraffic = Date.now();
      onBytes(toBrowser, toUpstream);
    },
    onFirstUpstreamMessage: early.length > 0 ? undefined : opts.onFirstFrame,
    fromBrowser: recorder ? recordedInput(checkedInput, recorder) : checkedInput,
    ...(recorder ? { recorder } : {}),
  });
  clearInterval(keepAlive);
  // The error listeners stay: either socket may still report an error while closing.
  if (end.invalidBrowserData) return { reason: 'protocol_error', error: end.invalidBrowserData };
  return { reason: end.closedBy === 'browser' ? 'browser_closed' : 'upstream_closed', ...(end.error ? { error: end.error } : {}) };

  function failHandshake(failure: SideError, negotiated: BrowserRfbVersion | undefined): VncBridgeOutcome {
    browserReader.fail();
    upstreamReader.fail();
    if (upstream) closeUpstream(upstream);
    if (failure.side === 'browser') {
      if (browser.readyState === WebSocket.OPEN) browser.close(1008, 'protocol error');
      const closed = failure.error instanceof RfbStreamClosedError;
      return { reason: closed ? 'browser_closed' : 'protocol_error', error: failure.error };
    }
    log.warn('console handshake failed', { error: failure.error.message });
    const result = negotiated ? securityResultFailure(negotiated, userFacingReason(failure.error)) : null;
    if (result) sendToBrowser(result);
    if (browser.readyState === WebSocket.OPEN) browser.close(1000, 'console unavailable');
    return { reason: 'upstream_failed', error: failure.error };
  }
}
