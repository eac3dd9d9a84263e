import type { Duplex } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { upstreamReadsOf } from '../proxmox/upstream-reads.js';
import { closeUpstream, toBuffer } from '../proxmox/upstream-socket.js';
import { binaryFrameHeader, frameHeaderLength, readWholeClientMessages, ServerFrameReader, writeBinaryFrameHeader } from './ws-frames.js';

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
  /**
   * Sees each payload relayed to the browser, before it is sent (a recording): it must copy what
   * it keeps, the buffer being reused. Without it the relay does nothing more.
   */
  recorder?: RelayRecorder;
}

export interface RelayRecorder {
  toBrowser(payload: Buffer): void;
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
/**
 * TLS's largest record (2^14 bytes), which is what Node hands over per read from a TLS socket: a
 * shorter chunk means the sender paused, so what is gathered goes out at once; after full ones,
 * more is likely to follow in the same turn of the event loop and is gathered first.
 */
const FULL_RECORD = 16 * 1024;
const FULL_RECORD_HEADER = binaryFrameHeader(FULL_RECORD);
/** The most gathered for one write toward the browser (also what a paused relay may hold beyond its limit). */
const MAX_GATHERED = 64 * 1024;
/**
 * The upstream is paused once this much waits in the browser socket's own queue (or the
 * high-water mark, if lower): the kernel's send buffer behind it keeps the connection busy, and
 * chunks that wait longer outlive V8's young generation, which then costs full collections.
 */
const BROWSER_QUEUE_TARGET = 64 * 1024;


/** Pieces of at most `max` bytes, without copying. */
export function splitFrames(data: Buffer, max: number): Buffer[] {
  if (data.length <= max) return [data];
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += max) pieces.push(data.subarray(at, at + max));
  return pieces;
}

const FRAME_OPTIONS = { binary: true, compress: false, fin: true } as const;

/** Sends binary, unfragmented, uncompressed frames; returns the bytes sent. */
export function sendFrames(to: WebSocket, data: Buffer, maxFrame: number, onWritten?: (err?: Error) => void): number {
  if (to.readyState !== WebSocket.OPEN || data.length === 0) return 0;
  if (data.length <= maxFrame) to.send(data, FRAME_OPTIONS, onWritten);
  else for (const piece of splitFrames(data, maxFrame)) to.send(piece, FRAME_OPTIONS, onWritten);
  return data.length;
}

/** Relays with bytes not yet reported: they are reported within a second, even mid-burst. */
const unreported = new Set<PendingCounts>();
let reportTimer: NodeJS.Timeout | undefined;
const REPORT_EVERY_MS = 1000;

/**
 * Bytes relayed toward the browser, reported to onBytes (metrics, session activity) once per
 * burst rather than per record.
 */
class PendingCounts {
  toBrowser = 0;
  private toUpstream = 0;

  constructor(private readonly onBytes: (toBrowser: number, toUpstream: number) => void) {}

  add(toBrowser: number, toUpstream: number): void {
    if (toBrowser === 0 && toUpstream === 0) return;
    if (this.toBrowser === 0 && this.toUpstream === 0) {
      unreported.add(this);
      reportTimer ??= setInterval(() => {
        for (const counts of unreported) counts.report();
      }, REPORT_EVERY_MS).unref();
    }
    this.toBrowser += toBrowser;
    this.toUpstream += toUpstream;
  }

  report(): void {
    const { toBrowser, toUpstream } = this;
    // Out of the set first, even with nothing to tell: an empty message registers a count of 0,
    // and an entry left behind would hold both sockets for the life of the process.
    unreported.delete(this);
    if (toBrowser === 0 && toUpstream === 0) return;
    this.toBrowser = 0;
    this.toUpstream = 0;
    this.onBytes(toBrowser, toUpstream);
  }
}

/** The fields of ws's Receiver that tell whether it holds part of a frame (ws 8). */
interface WsReceiverState {
  _bufferedBytes?: unknown;
  _state?: unknown;
  _fragmented?: unknown;
  writableLength?: unknown;
}

/**
 * ws's socket (`_socket`, not documented but stable through ws 8), when the bytes still to come
 * on it can be read by someone else without losing any: ws's Receiver holds no part of a frame.
 * Anything else (another ws, a receiver mid-frame) gets undefined, and the relay stays with ws.
 */
function socketAtFrameBoundary(ws: WebSocket): Duplex | undefined {
  const internals = ws as unknown as { _socket?: Duplex; _receiver?: WsReceiverState };
  const receiver = internals._receiver;
  if (!receiver || receiver._bufferedBytes !== 0 || receiver._state !== 0 || receiver._fragmented !== 0 || receiver.writableLength !== 0) return undefined;
  return internals._socket;
}

interface Downstream {
  /** Sends what was gathered, e.g. before the browser is closed. */
  flush(): void;
  /** No more is forwarded; whatever still arrives is dropped. */
  stop(): void;
}

interface FrameForwarding {
  highWaterMark: number;
  counts: PendingCounts;
  onFirstData: (() => void) | undefined;
  onEnd(error?: Error): void;
  recorder: RelayRecorder | undefined;
}

/**
 * Server to browser without ws: the upstream's frames are followed on its socket and their
 * payloads re-framed onto the browser's. Every write is whole frames, so ws's own frames to the
 * browser (a pong, the Close) never land inside one. The upstream socket is paused while the
 * browser's queue holds more than the high-water mark (or BROWSER_QUEUE_TARGET).
 *
 * A socket the gateway dialled reads into a reused buffer (UpstreamReads): each payload is sent
 * as it is read, its new header written into the bytes in front of it (the upstream's own
 * header, or the room UpstreamReads leaves), so one write of one buffer sends each frame; a view
 * that a pending write still holds is left to it. Any other socket's chunks are gathered over a
 * turn of the event loop into one write of header and payload pairs.
 */
function forwardFrames(upstream: WebSocket, upstreamSocket: Duplex, browser: WebSocket, browserSocket: Duplex, how: FrameForwarding): Downstream {
  const wsDataListeners = upstreamSocket.listeners('data') as ((chunk: Buffer) => void)[];
  const reads = upstreamReadsOf(upstreamSocket);
  let gathered: Buffer[] = [];
  /** Payload bytes gathered, and the bytes of the frames that carry them. */
  let gatheredBytes = 0;
  let gatheredFrameBytes = 0;
  let flushLater: NodeJS.Immediate | undefined;
  /** Bytes handed to the browser socket: with its queue, which writes ended. */
  let written = 0;
  let paused = false;
  let stopped = false;
  let onFirstData = how.onFirstData;
  const queueLimit = Math.min(how.highWaterMark, BROWSER_QUEUE_TARGET);

  const resume = () => {
    paused = false;
    if (!stopped) upstreamSocket.resume();
  };
  const pauseIfFull = () => {
    if (paused || browserSocket.writableLength <= queueLimit) return;
    paused = true;
    upstreamSocket.pause();
    browserSocket.once('drain', resume);
  };
  const counts = how.counts;
  const flush = () => {
    if (flushLater) {
      clearImmediate(flushLater);
      flushLater = undefined;
    }
    if (gathered.length > 0) {
      const frames = gathered;
      gathered = [];
      gatheredBytes = 0;
      written += gatheredFrameBytes;
      gatheredFrameBytes = 0;
      // After ws sent its Close, no data frame may follow.
      if (browser.readyState === WebSocket.OPEN) {
        browserSocket.cork();
        for (const frame of frames) browserSocket.write(frame);
        browserSocket.uncork();
      }
    }
    counts.report();
    pauseIfFull();
  };
  const gatherPair = (payload: Buffer) => {
    const header = payload.length === FULL_RECORD ? FULL_RECORD_HEADER : binaryFrameHeader(payload.length);
    gathered.push(header, payload);
    gatheredBytes += payload.length;
    gatheredFrameBytes += header.length + payload.length;
    counts.add(payload.length, 0);
  };
  const gatherInPlace = (payload: Buffer) => {
    const header = frameHeaderLength(payload.length);
    const frame = Buffer.from(payload.buffer, payload.byteOffset - header, payload.length + header);
    writeBinaryFrameHeader(frame, 0, payload.length);
    gathered.push(frame);
    gatheredBytes += payload.length;
    gatheredFrameBytes += frame.length;
    counts.add(payload.length, 0);
  };
  const forward = reads ? gatherInPlace : gatherPair;
  const recorder = how.recorder;
  const onPayload = recorder
    ? (payload: Buffer) => {
        recorder.toBrowser(payload);
        forward(payload);
      }
    : forward;
  const reader = new ServerFrameReader({
    data(payload) {
      onFirstData?.();
      onFirstData = undefined;
      onPayload(payload);
    },
    ping: (payload) => upstream.pong(payload),
    pong: () => {},
    close: () => how.onEnd(),
  });
  /** False once the stream ended (a Close, a protocol error) or the relay stopped. */
  const read = (chunk: Buffer): boolean => {
    if (stopped) return false;
    try {
      reader.push(chunk);
    } catch (err) {
      how.onEnd(err as Error);
      return false;
    }
    return !stopped;
  };
  /**
   * A short record that carried data ends a burst: what was gathered goes out at once, or else at
   * the end of this turn (a record of headers alone, as a sender writing header and payload apart
   * makes, says nothing). Waiting for the end of the turn instead made fewer writes (27 per MB
   * against 46) but more CPU per MB in four bench pairs out of four (1.44-1.96x socat's against
   * 1.21-1.44x), likely because the browser's reader then starts only once the whole TCP read is
   * decrypted, not alongside it.
   */
  const flushAfter = (chunk: Buffer, before: number) => {
    if ((chunk.length < FULL_RECORD && gatheredBytes > before) || gatheredBytes >= MAX_GATHERED) flush();
    else if (gathered.length > 0) flushLater ??= setImmediate(flush);
  };
  for (const listener of wsDataListeners) upstreamSocket.off('data', listener);
  if (reads) {
    // Bytes written whose writes ended: what the queue holds was written last (ws's own frames in
    // it only make this count later, never early).
    const ended = () => written - browserSocket.writableLength;
    reads.take((chunk) => {
      const before = gatheredBytes;
      if (read(chunk)) flushAfter(chunk, before);
      // Frames gathered or queued may be views of this buffer: it is free once they are written.
      if (gathered.length > 0 || browserSocket.writableLength > 0) reads.bufferKept(written + gatheredFrameBytes);
      // Pausing is flush()'s: a false here would stop reads without a resume to follow.
      return true;
    }, ended);
  } else {
    upstreamSocket.on('data', (chunk: Buffer) => {
      const before = gatheredBytes;
      if (read(chunk)) flushAfter(chunk, before);
    });
  }
  return {
    flush,
    stop() {
      stopped = true;
      if (flushLater) clearImmediate(flushLater);
      browserSocket.off('drain', resume);
    },
  };
}

/**
 * Browser to server without ws's Receiver while the browser sends what it normally does: whole
 * binary messages, each within one read (unmasked in place, handed to `onMessage`, false
 * stopping). The first frame that is anything else (a control frame, text, a fragment, one the
 * read cut) and all that follows go back to ws, which handles them as it always did; so does
 * everything once given back, which the relay does at its end, so ws sees the Close handshake.
 */
function readBrowserMessages(browserSocket: Duplex, onMessage: (payload: Buffer) => boolean): { giveBack(): void } {
  const wsDataListeners = browserSocket.listeners('data') as ((chunk: Buffer) => void)[];
  let reading = false;
  let givenBack = false;
  let giveBackAfterRead = false;
  const giveBack = (rest?: Buffer) => {
    if (givenBack) return;
    givenBack = true;
    browserSocket.off('data', onData);
    for (const listener of wsDataListeners) browserSocket.on('data', listener);
    if (rest && rest.length > 0) for (const listener of wsDataListeners) listener.call(browserSocket, rest);
  };
  const onData = (chunk: Buffer) => {
    reading = true;
    const end = readWholeClientMessages(chunk, onMessage);
    reading = false;
    if (end < chunk.length || giveBackAfterRead) giveBack(chunk.subarray(end));
  };
  for (const listener of wsDataListeners) browserSocket.off('data', listener);
  browserSocket.on('data', onData);
  return {
    giveBack() {
      // Called from within onMessage: the rest of the read goes back with it, after the loop.
      if (reading) giveBackAfterRead = true;
      else giveBack();
    },
  };
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

  const counts = new PendingCounts(onBytes);
  // Toward Proxmox counted at once: browser messages are few, and each is input worth seeing.
  const toUpstream = pipe(browser, upstream, MAX_UPSTREAM_FRAME, (n) => {
    counts.add(0, n);
    counts.report();
  });
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
  const toBrowser = pipe(upstream, browser, Number.POSITIVE_INFINITY, (n) => {
    counts.add(n, 0);
    counts.report();
  });
  const recorder = options.recorder;
  const fromUpstream = (data: RawData) => {
    firstUpstreamMessage?.();
    firstUpstreamMessage = undefined;
    const payload = toBuffer(data);
    recorder?.toBrowser(payload);
    toBrowser(payload);
  };
  const onError = (err: Error) => {
    error ??= err;
  };

  return new Promise((resolve) => {
    // Set below once the listeners are in place; finish() may run before.
    const forwarding: { downstream?: Downstream; browserReads?: { giveBack(): void } } = {};
    let finished = false;
    const finish = (closedBy: RelayEnd['closedBy']) => {
      if (finished) return;
      finished = true;
      // What the upstream sent before the end still reaches the browser, ahead of the Close.
      forwarding.downstream?.flush();
      forwarding.downstream?.stop();
      forwarding.browserReads?.giveBack();
      counts.report();
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
    browser.on('close', onBrowserClose);
    upstream.on('close', onUpstreamClose);
    browser.on('error', onError);
    upstream.on('error', onError);
    if (browser.readyState !== WebSocket.OPEN) return finish('browser');
    if (upstream.readyState !== WebSocket.OPEN) return finish('upstream');
    const browserAtBoundary = socketAtFrameBoundary(browser);
    if (browserAtBoundary) {
      forwarding.browserReads = readBrowserMessages(browserAtBoundary, (payload) => {
        fromBrowser(payload);
        return !finished;
      });
    }
    const upstreamSocket = socketAtFrameBoundary(upstream);
    const browserSocket = (browser as unknown as { _socket?: Duplex })._socket;
    if (!upstreamSocket || !browserSocket) {
      upstream.on('message', fromUpstream);
      return;
    }
    forwarding.downstream = forwardFrames(upstream, upstreamSocket, browser, browserSocket, {
      highWaterMark,
      counts,
      onFirstData: firstUpstreamMessage,
      recorder,
      onEnd(err) {
        if (err) onError(err);
        finish('upstream');
      },
    });
  });
}
