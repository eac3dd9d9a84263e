import { RfbProtocolError } from './errors.js';

/**
 * Proxmox cuts a console after 15 minutes without a byte either way, and websocket pings do not
 * count; an incremental update request for one pixel is traffic every RFB server takes in stride.
 */
export const KEEP_ALIVE_MESSAGE = Buffer.from([3, 1, 0, 0, 0, 0, 0, 1, 0, 1]);

/** Header bytes that always suffice for messageLength() to know a message's length. */
const MAX_HEADER = 9;
const NOTHING = Buffer.alloc(0);

/**
 * Input messages (what the idle timeout watches). SetDesktopSize counts as input, since it
 * changes what every other viewer sees.
 */
const INPUT_TYPES = new Set([4, 5, 6, 251, 255]);
/**
 * All a view-only viewer may send: what it takes to be shown the screen (SetPixelFormat,
 * SetEncodings with QEMU's pseudo-encodings, FramebufferUpdateRequest). An allow list, so a
 * message type nobody thought of (XVP's reboot, say) cannot act on the guest.
 */
const VIEW_ONLY_TYPES = new Set([0, 2, 3]);

/**
 * Bytes needed to know a message's full length, and that length once they are there (or null
 * when more header bytes are needed). Types are those of RFB 3.8 and the extensions noVNC sends.
 */
function messageLength(buf: Buffer, at: number, maxCutText: number): number | null {
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
      if (length > maxCutText) throw new RfbProtocolError(`clipboard text of ${length} bytes (at most ${maxCutText})`);
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
 * viewer's input and controls. Whole messages pass unchanged; a partial one waits for its remainder.
 *
 * The cost is linear in the bytes received, however they are cut: the chunks of an incomplete
 * message are only listed, and joined once, when the message is complete. Every message's length
 * is known from its header and bounded (ClientCutText by `maxCutText`), and so is what is held.
 */
export class ClientMessageFilter {
  private held: Buffer[] = [];
  private heldLength = 0;
  /** The held message's full length, once its header is in. */
  private heldNeeds: number | null = null;

  /** `onInput`: a keyboard, pointer or clipboard message passed (what the idle timeout watches). */
  constructor(
    private readonly viewOnly: boolean,
    private readonly onInput: () => void = () => {},
    private readonly maxCutText = 64 * 1024,
  ) {}

  /** No partial message is held: bytes of the gateway's own may go upstream now. */
  get atBoundary(): boolean {
    return this.heldLength === 0;
  }

  /** The complete messages in `chunk` (plus what was held), minus dropped ones. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return NOTHING;
    let buf = chunk;
    if (this.heldLength > 0) {
      this.held.push(chunk);
      this.heldLength += chunk.length;
      // Until the header is complete only a few short chunks are held: joining them is cheap.
      this.heldNeeds ??= messageLength(Buffer.concat(this.held, Math.min(this.heldLength, MAX_HEADER)), 0, this.maxCutText);
      if (this.heldNeeds === null || this.heldLength < this.heldNeeds) return NOTHING;
      buf = Buffer.concat(this.held, this.heldLength);
      this.held = [];
      this.heldLength = 0;
      this.heldNeeds = null;
    }
    const kept: Buffer[] = [];
    let at = 0;
    let runStart = 0;
    let sawInput = false;
    let length: number | null = null;
    while (at < buf.length) {
      length = messageLength(buf, at, this.maxCutText);
      if (length === null || at + length > buf.length) break;
      if (this.viewOnly) {
        if (!VIEW_ONLY_TYPES.has(buf[at]!)) {
          if (at > runStart) kept.push(buf.subarray(runStart, at));
          runStart = at + length;
        }
      } else if (INPUT_TYPES.has(buf[at]!)) {
        sawInput = true;
      }
      at += length;
    }
    if (at > runStart) kept.push(buf.subarray(runStart, at));
    if (sawInput) this.onInput();
    if (at < buf.length) {
      // A copy, so a large frame is not kept alive for a few trailing bytes.
      const rest = Buffer.from(buf.subarray(at));
      this.held = [rest];
      this.heldLength = rest.length;
      this.heldNeeds = length;
    }
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }
}
