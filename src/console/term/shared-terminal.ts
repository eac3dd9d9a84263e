import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../../log.js';
import { ProxmoxError } from '../../proxmox/errors.js';
import type { LoggedInTerminal } from '../../proxmox/term-login.js';
import { closeUpstream, toBuffer } from '../../proxmox/upstream-socket.js';
import { MAX_UPSTREAM_FRAME, sendFrames } from '../relay.js';
import { allowedFor, encodeTermMessage, TermMessageParser, TermProtocolError, type TermMessage } from './messages.js';
import { Scrollback } from './scrollback.js';

/** The output kept for a viewer who joins later: a screenful many times over, and a bounded cost per session. */
export const SCROLLBACK_BYTES = 64 * 1024;
/** As the Proxmox web client does: termproxy and pveproxy count only traffic as activity. */
const KEEP_ALIVE_MS = 30_000;
/** What one viewer may send before the terminal is ready: a resize and a few early keystrokes. */
const MAX_EARLY_BYTES = 64 * 1024;
/**
 * Output not yet written toward one viewer beyond which the terminal is no longer read, until it
 * is half that again: a slow browser costs bounded memory (and slows its co-viewers, as it would
 * slow a shared terminal anywhere).
 */
export const VIEWER_HIGH_WATER = 1024 * 1024;
/**
 * How long viewers that keep the terminal unread may hold it for co-viewers who are ready: a tab
 * that stopped reading (a phone in the background, a laptop asleep behind a NAT that keeps the
 * connection) would otherwise freeze everyone's terminal for as long as it stays. It is let go
 * (the page reconnects, and is sent the recent output); alone, it only ever waits for itself.
 */
export const SLOW_VIEWER_MS = 10_000;
const PING = encodeTermMessage({ kind: 'ping' });

export type TerminalEnd = { reason: 'upstream_closed'; error?: Error } | { reason: 'upstream_failed'; error: Error } | { reason: 'browser_too_slow' };

/** One viewer's side, as the shared terminal drives it. */
export interface TermViewer {
  /** The terminal is logged in: called once, before any output. */
  ready(): void;
  /**
   * Output toward this viewer: at joining, the kept recent output; then everything new. Every byte
   * a viewer is sent passes here. `written` is to be called once the bytes left (or never will).
   */
  output(bytes: Buffer, written: () => void): void;
  /** The terminal is over, or could not be opened: this viewer's connection ends. */
  ended(end: TerminalEnd): void;
}

export interface ViewerOptions {
  /** Input is dropped; resizes pass. */
  viewOnly: boolean;
  /** The viewer typed or pasted. */
  onInput?(): void;
  /** Bytes sent upstream on this viewer's behalf. */
  onSent?(bytes: number): void;
}

export interface JoinedViewer {
  /** The browser's bytes (termproxy messages). Throws TermProtocolError on malformed ones. */
  input(chunk: Buffer): void;
  /** The viewer left; idempotent, and harmless once the terminal ended. */
  leave(): void;
}

interface Member {
  viewer: TermViewer;
  options: ViewerOptions;
  parser: TermMessageParser;
  allowed: (message: TermMessage) => boolean;
  /** Input that came before the terminal was ready. */
  early: Buffer[];
  earlyBytes: number;
  /** The viewer's window, and when it last changed (a sequence number). */
  size?: { cols: number; rows: number; seq: number };
  /** Output handed to the viewer and not written yet. */
  pending: number;
}

export interface SharedTerminalOptions {
  /** termproxy, its websocket and the login; aborted when nobody waits for it any more. */
  open(signal: AbortSignal): Promise<LoggedInTerminal>;
  openTimeoutMs: number;
  /** How long the terminal stays open after its last viewer left. */
  graceMs: number;
  log: Logger;
  keepAliveMs?: number;
  scrollbackBytes?: number;
  slowViewerMs?: number;
  /** The terminal is over: its registry forgets it. */
  onClosed(): void;
}

/**
 * One upstream terminal (termproxy) shared by the viewers of one session in this process, as
 * Proxmox has it: a VM's serial port takes one client, a container's console is one dtach session.
 * Its output goes to every viewer, their input goes up in the order it arrives (a view-only
 * viewer's input is dropped), and the terminal takes the size of the viewer that resized last
 * among those still here. A viewer who joins is first sent the recent output (SCROLLBACK_BYTES).
 * When the last viewer leaves, the terminal stays open for the grace, so a viewer coming back
 * within it finds the same terminal; one that leaves while it is still opening cancels the opening.
 */
export class SharedTerminal {
  private state: 'opening' | 'open' | 'closed' = 'opening';
  private readonly members = new Set<Member>();
  private readonly scrollback: Scrollback;
  private readonly opening = new AbortController();
  private ws: WebSocket | undefined;
  private openTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private slowTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private sizeSeq = 0;
  private applied: { cols: number; rows: number } | undefined;

  constructor(private readonly opts: SharedTerminalOptions) {
    this.scrollback = new Scrollback(opts.scrollbackBytes ?? SCROLLBACK_BYTES);
    this.openTimer = setTimeout(() => {
      this.opening.abort();
      this.fail(new ProxmoxError('proxmox_timeout', `The terminal did not open within ${opts.openTimeoutMs} ms.`));
    }, opts.openTimeoutMs);
    opts.open(this.opening.signal).then(
      (terminal) => {
        if (this.state === 'opening') this.attach(terminal);
        else closeUpstream(terminal.ws);
      },
      (error: unknown) => {
        if (this.state === 'opening') this.fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  get viewers(): number {
    return this.members.size;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  join(viewer: TermViewer, options: ViewerOptions): JoinedViewer {
    if (this.state === 'closed') throw new Error('the terminal is closed');
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const member: Member = { viewer, options, parser: new TermMessageParser(), allowed: allowedFor(options.viewOnly), early: [], earlyBytes: 0, pending: 0 };
    this.members.add(member);
    if (this.state === 'open') {
      viewer.ready();
      const replay = this.scrollback.replay();
      if (replay.length > 0) this.deliver(member, replay);
    }
    return {
      input: (chunk) => this.input(member, chunk),
      leave: () => this.leave(member),
    };
  }

  /** Ends the terminal now (the session ended, the gateway stops). */
  close(end: TerminalEnd = { reason: 'upstream_closed' }): void {
    if (this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    this.state = 'closed';
    clearTimeout(this.openTimer);
    clearTimeout(this.graceTimer);
    clearInterval(this.keepAlive);
    clearTimeout(this.slowTimer);
    if (wasOpening) this.opening.abort();
    if (this.ws) closeUpstream(this.ws);
    const members = [...this.members];
    this.members.clear();
    for (const member of members) member.viewer.ended(end);
    this.opts.onClosed();
  }

  private fail(error: Error): void {
    this.opts.log.warn('terminal could not be opened', { error: error.message });
    this.close({ reason: 'upstream_failed', error });
  }

  private attach(terminal: LoggedInTerminal): void {
    clearTimeout(this.openTimer);
    this.state = 'open';
    const ws = terminal.ws;
    this.ws = ws;
    ws.on('error', (err) => this.opts.log.debug('upstream websocket error', { error: err.message }));
    // From here to resume() all is synchronous: no byte of the terminal can slip between listeners.
    const output = terminal.takeOutput();
    ws.on('message', (data: RawData) => this.fromUpstream(toBuffer(data)));
    ws.on('close', () => this.close());
    for (const member of this.members) member.viewer.ready();
    if (output.length > 0) this.fromUpstream(output);
    this.applySize();
    for (const member of this.members) {
      for (const bytes of member.early) this.toUpstream(member, bytes);
      member.early = [];
      member.earlyBytes = 0;
    }
    this.keepAlive = setInterval(() => this.send(PING), this.opts.keepAliveMs ?? KEEP_ALIVE_MS);
    ws.resume();
    if (ws.readyState !== WebSocket.OPEN) this.close();
    else if (this.members.size === 0) this.startGrace();
  }

  private fromUpstream(bytes: Buffer): void {
    if (this.state !== 'open' || bytes.length === 0) return;
    this.scrollback.push(bytes);
    for (const member of this.members) this.deliver(member, bytes);
    if (!this.paused && [...this.members].some((m) => m.pending > VIEWER_HIGH_WATER)) {
      this.paused = true;
      this.ws?.pause();
      this.lookForSlowViewers();
    }
  }

  private lookForSlowViewers(): void {
    this.slowTimer = setTimeout(() => this.letSlowViewersGo(), this.opts.slowViewerMs ?? SLOW_VIEWER_MS);
  }

  /** Still paused: the viewers behind are let go if others are ready, else it looks again later. */
  private letSlowViewersGo(): void {
    this.slowTimer = undefined;
    if (!this.paused || this.state !== 'open') return;
    const slow = [...this.members].filter((m) => m.pending > VIEWER_HIGH_WATER / 2);
    if (slow.length === this.members.size) {
      this.lookForSlowViewers();
      return;
    }
    for (const member of slow) {
      this.opts.log.info('viewer let go: it has not read the terminal for co-viewers', { unsent: member.pending });
      this.leave(member);
      member.viewer.ended({ reason: 'browser_too_slow' });
    }
  }

  private deliver(member: Member, bytes: Buffer): void {
    member.pending += bytes.length;
    let written = false;
    member.viewer.output(bytes, () => {
      if (written) return;
      written = true;
      member.pending -= bytes.length;
      this.resumeIfDrained();
    });
  }

  private resumeIfDrained(): void {
    if (!this.paused || this.state !== 'open') return;
    for (const member of this.members) if (member.pending > VIEWER_HIGH_WATER / 2) return;
    this.paused = false;
    clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
    this.ws?.resume();
  }

  private input(member: Member, chunk: Buffer): void {
    if (!this.members.has(member)) return;
    for (const message of member.parser.push(chunk)) {
      if (!member.allowed(message)) continue;
      switch (message.kind) {
        case 'ping':
          // The terminal keeps itself alive, whoever watches.
          continue;
        case 'resize':
          member.size = { cols: message.cols, rows: message.rows, seq: ++this.sizeSeq };
          this.applySize(member);
          continue;
        case 'input':
          member.options.onInput?.();
          this.toUpstream(member, encodeTermMessage(message));
      }
    }
  }

  private toUpstream(member: Member, bytes: Buffer): void {
    if (this.state === 'open') {
      // Sent first: an optional call would skip evaluating its argument.
      const sent = this.send(bytes);
      member.options.onSent?.(sent);
      return;
    }
    member.earlyBytes += bytes.length;
    if (member.earlyBytes > MAX_EARLY_BYTES) throw new TermProtocolError('too much input before the terminal was ready');
    member.early.push(bytes);
  }

  private send(bytes: Buffer): number {
    return this.ws ? sendFrames(this.ws, bytes, MAX_UPSTREAM_FRAME) : 0;
  }

  /** The size of the viewer that resized last among those here, sent when it is not the terminal's already. */
  private applySize(cause?: Member): void {
    if (this.state !== 'open') return;
    let latest: Member['size'];
    for (const member of this.members) if (member.size && (!latest || member.size.seq > latest.seq)) latest = member.size;
    if (!latest || (this.applied?.cols === latest.cols && this.applied.rows === latest.rows)) return;
    this.applied = { cols: latest.cols, rows: latest.rows };
    const sent = this.send(encodeTermMessage({ kind: 'resize', cols: latest.cols, rows: latest.rows }));
    cause?.options.onSent?.(sent);
  }

  private leave(member: Member): void {
    if (!this.members.delete(member)) return;
    this.applySize();
    this.resumeIfDrained();
    if (this.members.size > 0) return;
    if (this.state === 'opening') this.close();
    else if (this.state === 'open') this.startGrace();
  }

  private startGrace(): void {
    if (this.opts.graceMs <= 0) {
      this.close();
      return;
    }
    this.graceTimer = setTimeout(() => {
      this.opts.log.debug('terminal closed: no viewer came back within the grace');
      this.close();
    }, this.opts.graceMs);
  }
}

export interface SharedTerminalsOptions {
  graceMs: number;
  openTimeoutMs: number;
  log: Logger;
  keepAliveMs?: number;
  scrollbackBytes?: number;
  slowViewerMs?: number;
}

/**
 * The shared terminals of this process, one per session with a text console viewer (or in its
 * grace). A VM's serial port serves one client at a time, so a terminal nobody watches gives way
 * to another session of the same guest that opens one: a fresh link is not kept waiting for the
 * grace of a tab that was closed.
 */
export class SharedTerminals {
  private readonly bySession = new Map<string, SharedTerminal>();
  /** The guest each session's terminal is on (`host|port|vmid`). */
  private readonly guestOf = new Map<string, string>();

  constructor(private readonly opts: SharedTerminalsOptions) {}

  /** Joins the session's terminal on `guest` (`host|port|vmid`), opening it with `open` when there is none. */
  join(sessionId: string, guest: string, open: (signal: AbortSignal) => Promise<LoggedInTerminal>, viewer: TermViewer, options: ViewerOptions): JoinedViewer {
    let terminal = this.bySession.get(sessionId);
    if (!terminal) {
      for (const [other, otherGuest] of this.guestOf) {
        const idle = this.bySession.get(other);
        if (otherGuest === guest && idle && idle.viewers === 0) {
          this.opts.log.child('CONSOLE', { session: other }).info('terminal without viewers closed: another session of the guest opens one');
          idle.close();
        }
      }
      const created: SharedTerminal = new SharedTerminal({
        open,
        openTimeoutMs: this.opts.openTimeoutMs,
        graceMs: this.opts.graceMs,
        log: this.opts.log.child('CONSOLE', { session: sessionId }),
        ...(this.opts.keepAliveMs !== undefined ? { keepAliveMs: this.opts.keepAliveMs } : {}),
        ...(this.opts.scrollbackBytes !== undefined ? { scrollbackBytes: this.opts.scrollbackBytes } : {}),
        ...(this.opts.slowViewerMs !== undefined ? { slowViewerMs: this.opts.slowViewerMs } : {}),
        onClosed: () => {
          if (this.bySession.get(sessionId) !== created) return;
          this.bySession.delete(sessionId);
          this.guestOf.delete(sessionId);
        },
      });
      terminal = created;
      this.bySession.set(sessionId, terminal);
      this.guestOf.set(sessionId, guest);
    }
    return terminal.join(viewer, options);
  }

  /** The session's terminal, if this process holds one. */
  of(sessionId: string): SharedTerminal | undefined {
    return this.bySession.get(sessionId);
  }

  get count(): number {
    return this.bySession.size;
  }

  /** The sessions with a terminal here, watched or in their grace. */
  sessionIds(): Iterable<string> {
    return this.bySession.keys();
  }

  /** The session ended: its terminal closes now, grace or not. */
  end(sessionId: string): void {
    this.bySession.get(sessionId)?.close();
  }

  closeAll(): void {
    for (const terminal of [...this.bySession.values()]) terminal.close();
  }
}
