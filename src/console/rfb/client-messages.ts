import { RfbProtocolError } from './errors.js';

/**
 * Proxmox cuts a console after 15 minutes without a byte either way, and websocket pings do not
 * count; an incremental update request for one pixel is traffic every RFB server takes in stride.
 */
export const KEEP_ALIVE_MESSAGE = Buffer.from([3, 1, 0, 0, 0, 0, 0, 1, 0, 1]);

/** A browser's clipboard text is typed or pasted by a person; more is not a console's business. */
const MAX_CUT_TEXT = 1024 * 1024;

/**
 * Input messages: a view-only viewer's copies of these are dropped. SetDesktopSize counts as
 * input, since it changes what every other viewer sees.
 */
const INPUT_TYPES = new Set([4, 5, 6, 251, 255]);

/**
 * Bytes needed to know a message's full length, and that length once they are there (or null
 * when more header bytes are needed). Types are those of RFB 3.8 and the extensions noVNC sends.
 */
function messageLength(buf: Buffer, at: number): number | null {
  const left = buf.length - at;
  const type = buf[at]!;
  switch (type) {
    case 0: // SetPixelFormat
      return 20;
    case 2: // SetEncodings
      return left < 4 ? null : 4 + 4 * buf.readUInt16BE(at + 2);
    case 3: // FramebufferUpdateRequest
    case 150: // EnableContinuousUpdates
      return 10;
    case 4: // KeyEvent
      return 8;
    case 5: // PointerEvent
      return 6;
    case 6: {
      // ClientCutText; extended clipboard messages carry a negative length.
      if (left < 8) return null;
      const length = Math.abs(buf.readInt32BE(at + 4));
      if (length > MAX_CUT_TEXT) throw new RfbProtocolError(`clipboard text of ${length} bytes`);
      return 8 + length;
    }
    case 248: // ClientFence
      return left < 9 ? null : 9 + buf[at + 8]!;
    case 250: // XVP
      return 4;
    case 251: // SetDesktopSize
      return left < 8 ? null : 8 + 16 * buf[at + 6]!;
    case 255: {
      // QEMU client message: only the extended key event (sub-type 0) is sent by noVNC.
      if (left < 2) return null;
      if (buf[at + 1] !== 0) throw new RfbProtocolError(`QEMU client message sub-type ${buf[at + 1]}`);
      return 12;
    }
    default:
      throw new RfbProtocolError(`unknown client message type ${type}`);
  }
}

/**
 * Follows the browser's RFB messages across arbitrary chunk boundaries, so the gateway knows
 * where each one starts: to refuse garbage before Proxmox sees it, and to drop a view-only
 * viewer's input. Whole messages pass unchanged; a partial one waits for its remainder.
 */
export class ClientMessageFilter {
  private pending: Buffer = Buffer.alloc(0);

  /** `onInput`: a keyboard, pointer or clipboard message passed (what the idle timeout watches). */
  constructor(
    private readonly viewOnly: boolean,
    private readonly onInput: () => void = () => {},
  ) {}

  /** No partial message is held: bytes of the gateway's own may go upstream now. */
  get atBoundary(): boolean {
    return this.pending.length === 0;
  }

  /** The complete messages in `chunk` (plus what was pending), minus dropped ones. */
  push(chunk: Buffer): Buffer {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const kept: Buffer[] = [];
    let at = 0;
    let runStart = 0;
    let sawInput = false;
    while (at < buf.length) {
      const length = messageLength(buf, at);
      if (length === null || at + length > buf.length) break;
      if (INPUT_TYPES.has(buf[at]!)) {
        if (this.viewOnly) {
          if (at > runStart) kept.push(buf.subarray(runStart, at));
          runStart = at + length;
        } else {
          sawInput = true;
        }
      }
      at += length;
    }
    if (at > runStart) kept.push(buf.subarray(runStart, at));
    if (sawInput) this.onInput();
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    if (this.pending.length > 8 + MAX_CUT_TEXT) throw new RfbProtocolError('client message too long');
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }
}
