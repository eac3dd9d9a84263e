// Splits the client-to-server half of an RFB stream (after the handshake) into messages.

export type ClientMessage =
  | { type: 'setPixelFormat'; pixelFormat: Buffer }
  | { type: 'setEncodings'; encodings: number[] }
  | { type: 'updateRequest'; incremental: boolean; x: number; y: number; w: number; h: number }
  | { type: 'key'; down: boolean; keysym: number }
  | { type: 'pointer'; buttons: number; x: number; y: number }
  | { type: 'cutText'; text: string }
  | { type: 'qemuAudio' }
  | { type: 'fence'; flags: number; payload: Buffer }
  | { type: 'enableContinuousUpdates'; enable: boolean }
  | { type: 'setDesktopSize'; width: number; height: number };

export class ClientProtocolError extends Error {}

/** QEMU drops clients whose ClientCutText claims more than 1 MiB. */
const MAX_CUT_TEXT = 1 << 20;

export class ClientMessageReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds received bytes and returns the messages now complete; throws ClientProtocolError on garbage. */
  push(chunk: Buffer): ClientMessage[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const messages: ClientMessage[] = [];
    while (this.pending.length > 0) {
      const length = messageLength(this.pending);
      if (length === undefined || this.pending.length < length) break;
      messages.push(decode(this.pending.subarray(0, length)));
      this.pending = this.pending.subarray(length);
    }
    return messages;
  }
}

/** Total length of the message starting at b[0], or undefined while too few bytes are there to tell. */
function messageLength(b: Buffer): number | undefined {
  const need = (n: number, length: (head: Buffer) => number | undefined) => (b.length < n ? undefined : length(b));
  switch (b[0]) {
    case 0:
      return 20;
    case 2:
      return need(4, (h) => 4 + 4 * h.readUInt16BE(2));
    case 3:
      return 10;
    case 4:
      return 8;
    case 5:
      return 6;
    case 6:
      return need(8, (h) => {
        const textLength = h.readUInt32BE(4);
        if (textLength > MAX_CUT_TEXT) throw new ClientProtocolError(`ClientCutText of ${textLength} bytes`);
        return 8 + textLength;
      });
    case 150:
      return 10;
    case 248:
      return need(9, (h) => 9 + h[8]!);
    case 251:
      return need(8, (h) => 8 + 16 * h[6]!);
    case 255:
      return need(2, (h) => {
        if (h[1] === 0) return 12;
        if (h[1] === 1) return need(4, (a) => (a.readUInt16BE(2) === 2 ? 10 : 4));
        throw new ClientProtocolError(`unknown QEMU client message sub-type ${h[1]}`);
      });
    default:
      throw new ClientProtocolError(`unknown client message type ${b[0]}`);
  }
}

function decode(m: Buffer): ClientMessage {
  switch (m[0]) {
    case 0:
      return { type: 'setPixelFormat', pixelFormat: Buffer.from(m.subarray(4, 20)) };
    case 2:
      return { type: 'setEncodings', encodings: Array.from({ length: m.readUInt16BE(2) }, (_, i) => m.readInt32BE(4 + 4 * i)) };
    case 3:
      return { type: 'updateRequest', incremental: m[1] !== 0, x: m.readUInt16BE(2), y: m.readUInt16BE(4), w: m.readUInt16BE(6), h: m.readUInt16BE(8) };
    case 4:
      return { type: 'key', down: m[1] !== 0, keysym: m.readUInt32BE(4) };
    case 5:
      return { type: 'pointer', buttons: m[1]!, x: m.readUInt16BE(2), y: m.readUInt16BE(4) };
    case 6:
      return { type: 'cutText', text: m.subarray(8).toString('latin1') };
    case 150:
      return { type: 'enableContinuousUpdates', enable: m[1] !== 0 };
    case 248:
      return { type: 'fence', flags: m.readUInt32BE(4), payload: Buffer.from(m.subarray(9)) };
    case 251:
      return { type: 'setDesktopSize', width: m.readUInt16BE(2), height: m.readUInt16BE(4) };
    default:
      // 255: QEMU's extended key event (sub-type 0) carries an X keysym besides the scancode.
      return m[1] === 0 ? { type: 'key', down: m.readUInt16BE(2) !== 0, keysym: m.readUInt32BE(4) } : { type: 'qemuAudio' };
  }
}
