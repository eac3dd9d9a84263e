// termproxy's client-to-server wire format, read as a byte stream (websocket frame boundaries are
// gone by the time bytes reach termproxy): a login line, then messages
//   0:<length in bytes>:<data>   input
//   1:<cols>:<rows>:             resize
//   2                            ping

export type TermproxyMessage = { type: 'input'; data: Buffer } | { type: 'resize'; cols: number; rows: number } | { type: 'ping' };

export class TermproxyProtocolError extends Error {}

/** termproxy refuses a login line longer than this (user name plus ticket fit easily). */
const MAX_LOGIN_LINE = 4096;
/** Largest input message accepted; a bigger announced length is treated as garbage. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Terminal sizes are 16-bit values (TIOCSWINSZ). */
const MAX_DIMENSION = 0xffff;
const MAX_NUMBER_DIGITS = 6;

const COLON = 0x3a;
const NEWLINE = 0x0a;

/** Splits `<user>:<ticket>\n` off the stream's start. */
export class LoginLineReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The login and whatever followed it, once the line is complete; throws on an overlong or malformed line. */
  push(chunk: Buffer): { user: string; ticket: string; rest: Buffer } | undefined {
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = this.pending.indexOf(NEWLINE);
    if (end < 0) {
      if (this.pending.length > MAX_LOGIN_LINE) throw new TermproxyProtocolError('login line too long');
      return undefined;
    }
    if (end > MAX_LOGIN_LINE) throw new TermproxyProtocolError('login line too long');
    const line = this.pending.subarray(0, end).toString('utf8');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TermproxyProtocolError('login line without user:ticket');
    return { user: line.slice(0, colon), ticket: line.slice(colon + 1), rest: this.pending.subarray(end + 1) };
  }
}

/** Reads a decimal number ending in a colon at `at`; undefined while incomplete. */
function numberAt(b: Buffer, at: number, max: number): { value: number; next: number } | undefined {
  let end = at;
  while (end < b.length && b[end] !== COLON) {
    if (b[end]! < 0x30 || b[end]! > 0x39 || end - at >= MAX_NUMBER_DIGITS) throw new TermproxyProtocolError('bad number');
    end++;
  }
  if (end >= b.length) return undefined;
  if (end === at) throw new TermproxyProtocolError('empty number');
  const value = Number(b.subarray(at, end).toString('latin1'));
  if (value > max) throw new TermproxyProtocolError('number out of range');
  return { value, next: end + 1 };
}

export class TermproxyMessageReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Every message complete so far; throws TermproxyProtocolError on anything else. */
  push(chunk: Buffer): TermproxyMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: TermproxyMessage[] = [];
    while (this.pending.length > 0) {
      const parsed = this.next();
      if (!parsed) break;
      messages.push(parsed.message);
      this.pending = this.pending.subarray(parsed.length);
    }
    return messages;
  }

  private next(): { message: TermproxyMessage; length: number } | undefined {
    const b = this.pending;
    const type = b[0];
    if (type === 0x32) return { message: { type: 'ping' }, length: 1 };
    if (type !== 0x30 && type !== 0x31) throw new TermproxyProtocolError(`unknown message type ${type}`);
    if (b.length < 2) return undefined;
    if (b[1] !== COLON) throw new TermproxyProtocolError('missing colon after the message type');
    if (type === 0x30) {
      const length = numberAt(b, 2, MAX_INPUT_BYTES);
      if (!length || b.length < length.next + length.value) return undefined;
      return { message: { type: 'input', data: Buffer.from(b.subarray(length.next, length.next + length.value)) }, length: length.next + length.value };
    }
    const cols = numberAt(b, 2, MAX_DIMENSION);
    if (!cols) return undefined;
    const rows = numberAt(b, cols.next, MAX_DIMENSION);
    if (!rows) return undefined;
    return { message: { type: 'resize', cols: cols.value, rows: rows.value }, length: rows.next };
  }
}
