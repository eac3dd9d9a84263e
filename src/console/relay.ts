import WebSocket, { type RawData } from 'ws';
import { closeUpstream, toBuffer } from '../proxmox/upstream-socket.js';

export interface RelayOptions {
  /** Bytes queued toward one side beyond which the other side stops being read. */
  highWaterMark?: number;
  onBytes?(toBrowser: number, toUpstream: number): void;
  /** The first message from the upstream once relaying began (after ServerInit: a frame). */
  onFirstUpstreamMessage?(): void;
  /**
   * Checks and rewrites what the browser sends before it goes upstream. Throwing ends the relay
   * as the browser's fault: it is closed with 1008 and the error is the end's `invalidBrowserData`.
   */
  fromBrowser?(data: Buffer): Buffer;
}

export interface RelayEnd {
  closedBy: 'browser' | 'upstream';
  error?: Error;
  /** What `fromBrowser` threw, when that ended the relay. */
  invalidBrowserData?: Error;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** pveproxy kills the connection on frames over 128 KiB. */
export const MAX_UPSTREAM_FRAME = 128 * 1024;


/** Pieces of at most `max` bytes, without copying. */
export function splitFrames(data: Buffer, max: number): Buffer[] {
  if (data.length <= max) return [data];
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += max) pieces.push(data.subarray(at, at + max));
  return pieces;
}

/** Sends binary, unfragmented, uncompressed frames; returns the bytes sent. */
export function sendFrames(to: WebSocket, data: Buffer, maxFrame: number, onWritten?: (err?: Error) => void): number {
  if (to.readyState !== WebSocket.OPEN || data.length === 0) return 0;
  for (const piece of splitFrames(data, maxFrame)) to.send(piece, { binary: true, compress: false, fin: true }, onWritten);
  return data.length;
}

/**
 * Joins the browser and the upstream websocket until either closes. A side whose peer cannot
 * keep up is paused (no more reads from its TCP socket) until the queue toward the peer drains,
 * so a slow browser costs a bounded amount of memory.
 */
export function relay(browser: WebSocket, upstream: WebSocket, options: RelayOptions = {}): Promise<RelayEnd> {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const onBytes = options.onBytes ?? (() => {});
  let firstUpstreamMessage = options.onFirstUpstreamMessage;
  let error: Error | undefined;
  let invalidBrowserData: Error | undefined;
  // Set once the promise below exists; a message cannot arrive before that.
  let finishRelay: (closedBy: RelayEnd['closedBy']) => void = () => {};

  function pipe(from: WebSocket, to: WebSocket, maxFrame: number, count: (n: number) => void): (data: Buffer) => void {
    const resumeWhenDrained = () => {
      if (from.isPaused && to.bufferedAmount < highWaterMark / 2) from.resume();
    };
    return (data) => {
      count(sendFrames(to, data, maxFrame, resumeWhenDrained));
      if (to.bufferedAmount > highWaterMark && !from.isPaused) from.pause();
    };
  }

  const toUpstream = pipe(browser, upstream, MAX_UPSTREAM_FRAME, (n) => onBytes(0, n));
  const rewrite = options.fromBrowser;
  const fromBrowser = (data: RawData) => {
    if (!rewrite) {
      toUpstream(toBuffer(data));
      return;
    }
    let checked: Buffer;
    try {
      checked = rewrite(toBuffer(data));
    } catch (err) {
      invalidBrowserData = err instanceof Error ? err : new Error(String(err));
      finishRelay('browser');
      return;
    }
    toUpstream(checked);
  };
  const toBrowser = pipe(upstream, browser, Number.POSITIVE_INFINITY, (n) => onBytes(n, 0));
  const fromUpstream = (data: RawData) => {
    firstUpstreamMessage?.();
    firstUpstreamMessage = undefined;
    toBrowser(toBuffer(data));
  };
  const onError = (err: Error) => {
    error ??= err;
  };

  return new Promise((resolve) => {
    const finish = (closedBy: RelayEnd['closedBy']) => {
      browser.off('message', fromBrowser);
      upstream.off('message', fromUpstream);
      browser.off('close', onBrowserClose);
      upstream.off('close', onUpstreamClose);
      browser.off('error', onError);
      upstream.off('error', onError);
      // A paused socket would not read the peer's Close frame.
      browser.resume();
      upstream.resume();
      if (browser.readyState === WebSocket.OPEN) {
        if (invalidBrowserData) browser.close(1008, 'protocol error');
        else browser.close(1000, 'console closed');
      }
      closeUpstream(upstream);
      resolve({ closedBy, ...(error ? { error } : {}), ...(invalidBrowserData ? { invalidBrowserData } : {}) });
    };
    finishRelay = finish;
    const onBrowserClose = () => finish('browser');
    const onUpstreamClose = () => finish('upstream');
    browser.on('message', fromBrowser);
    upstream.on('message', fromUpstream);
    browser.on('close', onBrowserClose);
    upstream.on('close', onUpstreamClose);
    browser.on('error', onError);
    upstream.on('error', onError);
    if (browser.readyState !== WebSocket.OPEN) finish('browser');
    else if (upstream.readyState !== WebSocket.OPEN) finish('upstream');
  });
}
