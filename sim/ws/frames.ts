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

/** Incremental parser of client-to-server frames. */
export class ClientFrameParser {
  private pending: Buffer = Buffer.alloc(0);

  /** Every complete frame in what arrived so far; throws FrameViolation on a frame pveproxy refuses. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (true) {
      const frame = this.next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private next(): Frame | null {
    const buf = this.pending;
    if (buf.length < 2) return null;
    const b0 = buf[0]!;
    const b1 = buf[1]!;
    if ((b0 & 0x80) === 0) throw new FrameViolation('fragmented frame');
    if ((b0 & 0x70) !== 0) throw new FrameViolation('reserved bits set');
    const opcode = b0 & 0x0f;
    if (!ACCEPTED_OPCODES.has(opcode)) throw new FrameViolation(`opcode ${opcode}`);
    if ((b1 & 0x80) === 0) throw new FrameViolation('unmasked frame');
    let length = b1 & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buf.length < 4) return null;
      length = buf.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) return null;
      const high = buf.readUInt32BE(2);
      if (high !== 0) throw new FrameViolation('frame too large');
      length = buf.readUInt32BE(6);
      offset = 10;
    }
    if (length > MAX_FRAME_PAYLOAD) throw new FrameViolation('frame too large');
    if (buf.length < offset + 4 + length) return null;
    const mask = buf.subarray(offset, offset + 4);
    const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    this.pending = buf.subarray(offset + 4 + length);
    return { opcode, payload };
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
