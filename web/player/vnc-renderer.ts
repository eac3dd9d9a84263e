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

export class VncRenderer implements Renderer {
  private rfb: RFB | null = null;
  private channel: RecordedChannel | null = null;

  constructor(
    private readonly screen: HTMLElement,
    private readonly timeline: VncTimeline,
  ) {}

  reset(): void {
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
  }

  apply(index: number): void {
    const frame = this.timeline.frames[index];
    if (frame) this.channel?.deliver(frame);
  }
}
