/**
 * WebSocket framing as pveproxy does it, which is stricter than RFC 6455 clients expect:
 * no fragmentation, no extensions, client frames must be masked and at most 128 KiB.
 */

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

const ACCEPTED_OPCODES = new Set([OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG]);

/** pveproxy's limit for one client frame, and for one server frame. */
export const MAX_FRAME_PAYLOAD = 128 * 1024;

export interface Frame {
  opcode: number;
  payload: Buffer;
}

/** A frame pveproxy would answer by dropping the connection. */
export class FrameViolation extends Error {}

/** Longest frame header: 2 bytes, a 64-bit length and the mask. */
const MAX_HEADER = 14;

/**
 * The full length of the frame starting at `at` (header, mask and payload), or null while its
 * header is incomplete; throws FrameViolation as soon as the header shows one.
 */
function frameLength(buf: Buffer, at: number): number | null {
  if (buf.length - at < 2) return null;
  const b0 = buf[at]!;
  const b1 = buf[at + 1]!;
  if ((b0 & 0x80) === 0) throw new FrameViolation('fragmented frame');
  if ((b0 & 0x70) !== 0) throw new FrameViolation('reserved bits set');
  const opcode = b0 & 0x0f;
  if (!ACCEPTED_OPCODES.has(opcode)) throw new FrameViolation(`opcode ${opcode}`);
  if ((b1 & 0x80) === 0) throw new FrameViolation('unmasked frame');
  let length = b1 & 0x7f;
  let header = 2;
  if (length === 126) {
    if (buf.length - at < 4) return null;
    length = buf.readUInt16BE(at + 2);
    header = 4;
  } else if (length === 127) {
    if (buf.length - at < 10) return null;
    if (buf.readUInt32BE(at + 2) !== 0) throw new FrameViolation('frame too large');
    length = buf.readUInt32BE(at + 6);
    header = 10;
  }
  if (length > MAX_FRAME_PAYLOAD) throw new FrameViolation('frame too large');
  return header + 4 + length;
}

/** The complete frame of `length` bytes at `at`, unmasked. */
function decodeFrame(buf: Buffer, at: number, length: number): Frame {
  const lengthBits = buf[at + 1]! & 0x7f;
  const maskAt = at + (lengthBits === 126 ? 4 : lengthBits === 127 ? 10 : 2);
  const payload = Buffer.from(buf.subarray(maskAt + 4, at + length));
  for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[maskAt + (i & 3)]!;
  return { opcode: buf[at]! & 0x0f, payload };
}

/**
 * Incremental parser of client-to-server frames. Its cost is linear in the bytes however they are
 * cut: the chunks of an incomplete frame are only listed, and joined once, when the frame is
 * complete (a 128 KiB frame in 1-byte chunks would otherwise be copied 131,072 times).
 */
export class ClientFrameParser {
  private held: Buffer[] = [];
  private heldLength = 0;
  /** The held frame's full length, once its header is in. */
  private heldNeeds: number | null = null;

  /** Every complete frame in what arrived so far; throws FrameViolation on a frame pveproxy refuses. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length === 0) return [];
    let buf = chunk;
    if (this.heldLength > 0) {
      this.held.push(chunk);
      this.heldLength += chunk.length;
      // Until the header is complete only a few short chunks are held: joining them is cheap.
      this.heldNeeds ??= frameLength(Buffer.concat(this.held, Math.min(this.heldLength, MAX_HEADER)), 0);
      if (this.heldNeeds === null || this.heldLength < this.heldNeeds) return [];
      buf = Buffer.concat(this.held, this.heldLength);
      this.held = [];
      this.heldLength = 0;
      this.heldNeeds = null;
    }
    const frames: Frame[] = [];
    let at = 0;
    let length: number | null = null;
    while (at < buf.length) {
      length = frameLength(buf, at);
      if (length === null || at + length > buf.length) break;
      frames.push(decodeFrame(buf, at, length));
      at += length;
    }
    if (at < buf.length) {
      // A copy, so a large chunk is not kept alive for a few trailing bytes.
      const rest = Buffer.from(buf.subarray(at));
      this.held = [rest];
      this.heldLength = rest.length;
      this.heldNeeds = length;
    }
    return frames;
  }
}

/** Header of an unmasked, final server frame carrying `length` payload bytes. */
export function serverFrameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 0x10000) {
    const header = Buffer.from([0x80 | opcode, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  header[1] = 127;
  header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  header.writeUInt32BE(length >>> 0, 6);
  return header;
}
