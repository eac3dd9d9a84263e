// A VNC recording drawn by noVNC's own RFB client, fed from the recording instead of a websocket.
import RFB from '@novnc/novnc';
import type { Renderer } from './playback.js';
import type { VncTimeline } from './recordings.js';

/**
 * The channel noVNC takes in place of a WebSocket (its Websock.attach checks these members): it
 * plays the server's side of the handshake the gateway played (RFB 3.8, security None), then the
 * recorded ServerInit and server messages. What noVNC sends is dropped: nothing is connected.
 */
class RecordedChannel {
  binaryType = 'arraybuffer';
  protocol = '';
  readyState = 'connecting';
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  send(): void {}

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }

  open(): void {
    this.readyState = 'open';
    this.onopen?.();
  }

  deliver(bytes: Uint8Array): void {
    if (this.readyState === 'open') this.onmessage?.({ data: bytes.slice().buffer });
  }
}

const VERSION = new TextEncoder().encode('RFB 003.008\n');
const SECURITY_NONE_OFFERED = Uint8Array.of(1, 1);
const SECURITY_RESULT_OK = Uint8Array.of(0, 0, 0, 0);

/** Bytes handed to noVNC in one turn of the event loop: seeking through a long recording stays responsive. */
const BYTES_PER_TURN = 4 * 1024 * 1024;

/**
 * Feeds noVNC at the pace it takes: while it waits for images to decode (Tight's JPEG rectangles),
 * it stops reading and keeps what arrives in a receive queue of at most 40 MiB, which a seek
 * through a long recording, handed over at once, would overflow. So the recorded messages wait
 * here while noVNC flushes (its `_flushing`, not public API: without it, the per-turn budget alone
 * paces) and go at most BYTES_PER_TURN per turn.
 */
export class VncRenderer implements Renderer {
  private rfb: RFB | null = null;
  private channel: RecordedChannel | null = null;
  private readonly waiting: Uint8Array[] = [];
  private next = 0;
  private pumpScheduled = false;

  /** `onBusy(true)` while recorded messages wait for noVNC, `onBusy(false)` once it has them all. */
  constructor(
    private readonly screen: HTMLElement,
    private readonly timeline: VncTimeline,
    private readonly onBusy: (busy: boolean) => void = () => {},
  ) {}

  reset(): void {
    this.waiting.length = 0;
    this.next = 0;
    this.rfb?.disconnect();
    this.screen.replaceChildren();
    const channel = new RecordedChannel();
    const rfb = new RFB(this.screen, channel as unknown as WebSocket, { shared: true });
    rfb.viewOnly = true;
    rfb.scaleViewport = true;
    rfb.background = 'transparent';
    channel.open();
    for (const part of [VERSION, SECURITY_NONE_OFFERED, SECURITY_RESULT_OK, this.timeline.serverInit]) channel.deliver(part);
    this.rfb = rfb;
    this.channel = channel;
    this.onBusy(false);
  }

  apply(index: number): void {
    const frame = this.timeline.frames[index];
    if (!frame) return;
    this.waiting.push(frame);
    if (!this.pumpScheduled) this.pump();
  }

  private flushing(): boolean {
    return (this.rfb as unknown as { _flushing?: unknown } | null)?._flushing === true;
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    let budget = BYTES_PER_TURN;
    while (this.next < this.waiting.length && budget > 0 && !this.flushing()) {
      const frame = this.waiting[this.next++]!;
      this.channel?.deliver(frame);
      budget -= frame.length;
    }
    if (this.next < this.waiting.length) {
      this.onBusy(true);
      this.pumpScheduled = true;
      setTimeout(this.pump, 0);
      return;
    }
    this.waiting.length = 0;
    this.next = 0;
    this.onBusy(false);
  };
}
