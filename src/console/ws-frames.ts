// WebSocket framing (RFC 6455) for the relay's hot paths. Server to browser: the upstream's frames
// are followed by their headers only, their payloads handed on as views into the chunk they came
// in (never collected into messages, never copied), and re-framed toward the browser. Browser to
// server: the whole binary messages a browser sends are unmasked in place; anything else is left
// to ws.

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

const FIN = 0x80;
const RSV = 0x70;
const MASKED = 0x80;
const MAX_CONTROL_PAYLOAD = 125;

export class WsProtocolError extends Error {
  constructor(message: string) {
    super(`websocket protocol error from the console: ${message}`);
    this.name = 'WsProtocolError';
  }
}

/** What a ServerFrameReader finds. Payload buffers are views: use them before the chunk is reused. */
export interface ServerFrameSink {
  /** Bytes of a text, binary or continuation frame's payload, in order, cut anywhere. */
  data(payload: Buffer): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  /** `code` is undefined for a Close frame without a body. Nothing is read after it. */
  close(code: number | undefined, reason: Buffer): void;
}

/** Bytes of the header of an unmasked frame of `length` payload bytes: 2, 4 or 10. */
export function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes the header of an unmasked, final, binary frame (what a server sends) of `length`
 * payload bytes at `target[at]`; frameHeaderLength(length) bytes.
 */
export function writeBinaryFrameHeader(target: Buffer, at: number, length: number): void {
  target[at] = FIN | OPCODE_BINARY;
  if (length < 126) {
    target[at + 1] = length;
  } else if (length < 0x10000) {
    target[at + 1] = 126;
    target.writeUInt16BE(length, at + 2);
  } else {
    target[at + 1] = 127;
    target.writeUInt32BE(Math.floor(length / 0x1_0000_0000), at + 2);
    target.writeUInt32BE(length >>> 0, at + 6);
  }
}

/** The header of an unmasked, final, binary frame of `length` payload bytes, on its own. */
export function binaryFrameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderLength(length));
  writeBinaryFrameHeader(header, 0, length);
  return header;
}

const enum Stage {
  Header,
  Data,
  Control,
  Closed,
}

/**
 * Follows the frames a server sends (unmasked, no extensions negotiated): data payloads go to
 * `sink.data` as they arrive; control frames (at most 125 bytes) are collected and handed over
 * whole. Throws WsProtocolError on what RFC 6455 forbids a server: masked frames, RSV bits,
 * reserved opcodes, fragmented or oversized control frames, a continuation without a message or
 * a new message inside a fragmented one.
 */
export class ServerFrameReader {
  private stage = Stage.Header;
  /** A header (at most 14 bytes) or control payload being collected across chunks, and how much of it arrived. */
  private readonly field = Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD);
  private have = 0;
  /** Payload bytes of the current frame still to come. */
  private left = 0;
  private controlOpcode = 0;
  private inFragmentedMessage = false;

  constructor(private readonly sink: ServerFrameSink) {}

  get closed(): boolean {
    return this.stage === Stage.Closed;
  }

  /** Whether the reader stands between two frames. */
  get atFrameBoundary(): boolean {
    return this.stage === Stage.Header && this.have === 0;
  }

  push(chunk: Buffer): void {
    let at = 0;
    const length = chunk.length;
    while (at < length) {
      switch (this.stage) {
        case Stage.Data: {
          const n = Math.min(this.left, length - at);
          this.left -= n;
          // The whole chunk is the common case: no view to make.
          this.sink.data(n === length ? chunk : chunk.subarray(at, at + n));
          at += n;
          if (this.left === 0) this.stage = Stage.Header;
          break;
        }
        case Stage.Header:
          at = this.readHeader(chunk, at);
          break;
        case Stage.Control: {
          const n = Math.min(this.left, length - at);
          chunk.copy(this.field, this.have, at, at + n);
          this.have += n;
          this.left -= n;
          at += n;
          if (this.left === 0) this.controlDone();
          break;
        }
        case Stage.Closed:
          return;
      }
    }
  }

  /** Reads as much of a header as `chunk` holds from `at`; returns where it stopped. */
  private readHeader(chunk: Buffer, at: number): number {
    const available = chunk.length - at;
    // The common case: the whole header lies in this chunk, read in place.
    if (this.have === 0 && available >= 2) {
      const used = headerLength(chunk[at + 1]!);
      if (available >= used) {
        this.frameStarts(chunk, at);
        return at + used;
      }
    }
    let pos = at;
    for (;;) {
      const wanted = this.have < 2 ? 2 : headerLength(this.field[1]!);
      if (this.have === wanted) {
        this.have = 0;
        this.frameStarts(this.field, 0);
        return pos;
      }
      if (pos === chunk.length) return pos;
      const n = Math.min(wanted - this.have, chunk.length - pos);
      chunk.copy(this.field, this.have, pos, pos + n);
      this.have += n;
      pos += n;
    }
  }

  private frameStarts(header: Buffer, start: number): void {
    const b0 = header[start]!;
    const b1 = header[start + 1]!;
    const opcode = b0 & 0x0f;
    const fin = (b0 & FIN) !== 0;
    if ((b0 & RSV) !== 0) throw new WsProtocolError('RSV bits set, but no extension was negotiated');
    if ((b1 & MASKED) !== 0) throw new WsProtocolError('a masked frame');
    let length = b1 & 0x7f;
    if (length === 126) {
      length = header.readUInt16BE(start + 2);
    } else if (length === 127) {
      const high = header.readUInt32BE(start + 2);
      // 2^53 - 1 is the largest length a JavaScript number holds exactly.
      if (high > 0x1f_ffff) throw new WsProtocolError('a frame length over 2^53 - 1');
      length = high * 0x1_0000_0000 + header.readUInt32BE(start + 6);
    }
    switch (opcode) {
      case OPCODE_TEXT:
      case OPCODE_BINARY:
        if (this.inFragmentedMessage) throw new WsProtocolError('a new message inside a fragmented one');
        this.inFragmentedMessage = !fin;
        return this.dataFrame(length);
      case OPCODE_CONTINUATION:
        if (!this.inFragmentedMessage) throw new WsProtocolError('a continuation frame outside a fragmented message');
        this.inFragmentedMessage = !fin;
        return this.dataFrame(length);
      case OPCODE_CLOSE:
      case OPCODE_PING:
      case OPCODE_PONG:
        if (!fin) throw new WsProtocolError('a fragmented control frame');
        if (length > MAX_CONTROL_PAYLOAD) throw new WsProtocolError(`a control frame of ${length} bytes`);
        this.controlOpcode = opcode;
        this.left = length;
        this.have = 0;
        this.stage = Stage.Control;
        if (length === 0) this.controlDone();
        return;
      default:
        throw new WsProtocolError(`reserved opcode ${opcode}`);
    }
  }

  private dataFrame(length: number): void {
    this.left = length;
    this.stage = length > 0 ? Stage.Data : Stage.Header;
  }

  private controlDone(): void {
    // A copy: the sink may keep it (a pong is sent later), and the field is reused.
    const payload = Buffer.from(this.field.subarray(0, this.have));
    this.have = 0;
    this.stage = Stage.Header;
    switch (this.controlOpcode) {
      case OPCODE_PING:
        return this.sink.ping(payload);
      case OPCODE_PONG:
        return this.sink.pong(payload);
      default:
        if (payload.length === 1) throw new WsProtocolError('a Close frame with a one-byte body');
        this.stage = Stage.Closed;
        return this.sink.close(payload.length >= 2 ? payload.readUInt16BE(0) : undefined, payload.subarray(2));
    }
  }
}

/** Bytes of a header whose second byte is `b1` (a server's frames carry no mask key). */
function headerLength(b1: number): number {
  const length = b1 & 0x7f;
  const base = length === 126 ? 4 : length === 127 ? 10 : 2;
  return (b1 & MASKED) !== 0 ? base + 4 : base;
}

/**
 * Reads, from the start of `chunk`, the frames a browser sends for the messages it normally
 * sends: final, masked, binary, without RSV bits, at most 64 KiB, each wholly inside `chunk`.
 * Each payload is unmasked in place and handed to `onMessage` (false stops). Returns where
 * reading stopped: chunk.length, or the start of the first frame that is anything else or that
 * the chunk cuts, left as it was, for ws's Receiver to read from there.
 */
export function readWholeClientMessages(chunk: Buffer, onMessage: (payload: Buffer) => boolean): number {
  let at = 0;
  while (at < chunk.length) {
    if (chunk.length - at < 2 || chunk[at] !== (FIN | OPCODE_BINARY)) return at;
    const b1 = chunk[at + 1]!;
    if ((b1 & MASKED) === 0) return at;
    let length = b1 & 0x7f;
    let header = 6;
    if (length === 126) {
      if (chunk.length - at < 4) return at;
      length = chunk.readUInt16BE(at + 2);
      header = 8;
    } else if (length === 127) {
      return at;
    }
    const end = at + header + length;
    if (end > chunk.length) return at;
    const mask = at + header - 4;
    const start = at + header;
    for (let i = 0; i < length; i++) chunk[start + i] = chunk[start + i]! ^ chunk[mask + (i & 3)]!;
    at = end;
    if (!onMessage(chunk.subarray(start, end))) return at;
  }
  return at;
}
