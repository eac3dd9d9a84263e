/**
 * The client-to-server messages of Proxmox's termproxy (pve-protocol.md section 4), which the
 * console page speaks to the gateway too: input `0:<bytes>:<data>`, resize `1:<cols>:<rows>:`,
 * ping `2`. A byte stream: websocket frame boundaries carry no meaning.
 */

export type TermMessage =
  | { kind: 'input'; data: Buffer }
  | { kind: 'resize'; cols: number; rows: number }
  | { kind: 'ping' };

/** One input message; xterm.js sends a keystroke or a paste at a time, and a paste is bounded by the page. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Terminal sizes beyond this are no real window; termproxy would pass them to the pty as they are. */
export const MAX_TERMINAL_SIZE = 1000;

const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const INPUT = 0x30; // '0'
const RESIZE = 0x31; // '1'
const PING = 0x32; // '2'

export class TermProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TermProtocolError';
  }
}

/** A number ending in ':' at `at`, or null when its end has not arrived yet. */
function readNumber(buf: Buffer, at: number, max: number, what: string): { value: number; next: number } | null {
  const maxDigits = String(max).length;
  let value = 0;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i]!;
    if (byte === COLON) {
      if (i === at) throw new TermProtocolError(`empty ${what}`);
      return { value, next: i + 1 };
    }
    if (byte < DIGIT_0 || byte > DIGIT_9) throw new TermProtocolError(`${what} is not a number`);
    if (i - at >= maxDigits) throw new TermProtocolError(`${what} is too large`);
    value = value * 10 + (byte - DIGIT_0);
  }
  return null;
}

function expectColon(buf: Buffer, at: number): boolean {
  if (at >= buf.length) return false;
  if (buf[at] !== COLON) throw new TermProtocolError('expected ":" after the message type');
  return true;
}

/** The message starting at `at`, or null when it is not complete yet. */
function parseOne(buf: Buffer, at: number): { message: TermMessage; next: number } | null {
  const type = buf[at];
  if (type === PING) return { message: { kind: 'ping' }, next: at + 1 };
  if (type === INPUT) {
    if (!expectColon(buf, at + 1)) return null;
    const length = readNumber(buf, at + 2, MAX_INPUT_BYTES, 'input length');
    if (!length) return null;
    if (length.value > MAX_INPUT_BYTES) throw new TermProtocolError('input length is too large');
    const end = length.next + length.value;
    if (end > buf.length) return null;
    return { message: { kind: 'input', data: Buffer.from(buf.subarray(length.next, end)) }, next: end };
  }
  if (type === RESIZE) {
    if (!expectColon(buf, at + 1)) return null;
    const cols = readNumber(buf, at + 2, MAX_TERMINAL_SIZE, 'column count');
    if (!cols) return null;
    const rows = readNumber(buf, cols.next, MAX_TERMINAL_SIZE, 'row count');
    if (!rows) return null;
    for (const n of [cols.value, rows.value]) {
      if (n < 1 || n > MAX_TERMINAL_SIZE) throw new TermProtocolError(`terminal size ${n} is out of range`);
    }
    return { message: { kind: 'resize', cols: cols.value, rows: rows.value }, next: rows.next };
  }
  throw new TermProtocolError(`unknown message type ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
}

/** Bytes that always hold a message's header: "1:1000:1000:" is the longest. */
const MAX_HEADER = 16;

/** The full length of the message `head` starts with, or null while its header is incomplete. */
function messageSize(head: Buffer): number | null {
  if (head[0] !== INPUT) return parseOne(head, 0)?.next ?? null;
  if (!expectColon(head, 1)) return null;
  const length = readNumber(head, 2, MAX_INPUT_BYTES, 'input length');
  if (!length) return null;
  if (length.value > MAX_INPUT_BYTES) throw new TermProtocolError('input length is too large');
  return length.next + length.value;
}

/**
 * Splits the browser's byte stream into messages. Holds at most one incomplete message, so its
 * memory is bounded by MAX_INPUT_BYTES; its chunks are only listed, and joined once it is
 * complete, so the cost is linear in the bytes however they are cut. Throws TermProtocolError on
 * anything malformed, after which the stream cannot be trusted and the parser must not be used again.
 */
export class TermMessageParser {
  private held: Buffer[] = [];
  private heldLength = 0;
  private heldNeeds: number | null = null;

  push(chunk: Buffer): TermMessage[] {
    if (chunk.length === 0) return [];
    let buf = chunk;
    if (this.heldLength > 0) {
      this.held.push(chunk);
      this.heldLength += chunk.length;
      this.heldNeeds ??= messageSize(Buffer.concat(this.held, Math.min(this.heldLength, MAX_HEADER)));
      if (this.heldNeeds === null || this.heldLength < this.heldNeeds) return [];
      buf = Buffer.concat(this.held, this.heldLength);
      this.held = [];
      this.heldLength = 0;
      this.heldNeeds = null;
    }
    const messages: TermMessage[] = [];
    let at = 0;
    while (at < buf.length) {
      const parsed = parseOne(buf, at);
      if (!parsed) break;
      messages.push(parsed.message);
      at = parsed.next;
    }
    if (at < buf.length) {
      // A copy, so a large frame is not kept alive for a few trailing bytes.
      const rest = Buffer.from(buf.subarray(at));
      this.held = [rest];
      this.heldLength = rest.length;
    }
    return messages;
  }
}

export function encodeTermMessage(message: TermMessage): Buffer {
  switch (message.kind) {
    case 'input':
      return Buffer.concat([Buffer.from(`0:${message.data.length}:`, 'latin1'), message.data]);
    case 'resize':
      return Buffer.from(`1:${message.cols}:${message.rows}:`, 'latin1');
    case 'ping':
      return Buffer.from('2', 'latin1');
  }
}

/** A view-only viewer may watch, resize its window and keep the connection alive, never type. */
export function allowedFor(viewOnly: boolean): (message: TermMessage) => boolean {
  return (message) => !viewOnly || message.kind !== 'input';
}

/**
 * The browser's bytes as they may go upstream: parsed, filtered for the viewer and encoded again,
 * so only well-formed messages ever reach Proxmox. Throws TermProtocolError on malformed input.
 */
export function termInputFilter(viewOnly: boolean, onInput: () => void = () => {}): (chunk: Buffer) => Buffer {
  const parser = new TermMessageParser();
  const allowed = allowedFor(viewOnly);
  return (chunk) => {
    const passed = parser.push(chunk).filter(allowed);
    if (passed.some((m) => m.kind === 'input')) onInput();
    const out = passed.map(encodeTermMessage);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  };
}
