// The browser's RFB client messages, read back from the frames its console websocket sent.

export type RfbMessage =
  | { type: 'key'; down: boolean; keysym: number }
  | { type: 'pointer'; mask: number; x: number; y: number }
  | { type: 'cutText'; text: string }
  | { type: 'encodings'; encodings: number[] }
  | { type: 'other'; id: number };

/** Every message after the handshake (version, security type, ClientInit). */
export function clientMessages(frames: Buffer[]): RfbMessage[] {
  const bytes = Buffer.concat(frames);
  const out: RfbMessage[] = [];
  let at = 12 + 1 + 1;
  while (at < bytes.length) {
    const id = bytes[at]!;
    let size: number;
    if (id === 0) size = 20;
    else if (id === 2) {
      const count = bytes.readUInt16BE(at + 2);
      out.push({ type: 'encodings', encodings: Array.from({ length: count }, (_, i) => bytes.readInt32BE(at + 4 + 4 * i)) });
      size = 4 + 4 * count;
    } else if (id === 3) size = 10;
    else if (id === 4) {
      out.push({ type: 'key', down: bytes[at + 1] === 1, keysym: bytes.readUInt32BE(at + 4) });
      size = 8;
    } else if (id === 5) {
      out.push({ type: 'pointer', mask: bytes[at + 1]!, x: bytes.readUInt16BE(at + 2), y: bytes.readUInt16BE(at + 4) });
      size = 6;
    } else if (id === 6) {
      const length = bytes.readInt32BE(at + 4);
      if (length >= 0) out.push({ type: 'cutText', text: bytes.subarray(at + 8, at + 8 + length).toString('latin1') });
      size = 8 + Math.abs(length);
    } else if (id === 150) size = 10;
    else if (id === 248) size = 9 + bytes[at + 8]!;
    else if (id === 251) size = 8 + 16 * bytes[at + 6]!;
    else if (id === 255 && bytes[at + 1] === 0) {
      out.push({ type: 'key', down: bytes.readUInt16BE(at + 2) === 1, keysym: bytes.readUInt32BE(at + 4) });
      size = 12;
    } else throw new Error(`unknown RFB client message ${id} at ${at}`);
    if (id === 0 || id === 3 || id === 150 || id === 248 || id === 251) out.push({ type: 'other', id });
    at += size;
  }
  return out;
}

type Of<T extends RfbMessage['type']> = Extract<RfbMessage, { type: T }>;
const only = <T extends RfbMessage['type']>(type: T) => (frames: Buffer[]): Array<Of<T>> => clientMessages(frames).filter((m): m is Of<T> => m.type === type);

export const keyEvents = only('key');
export const cutTexts = (frames: Buffer[]) => only('cutText')(frames).map((m) => m.text);
export const pointerMasks = (frames: Buffer[]) => only('pointer')(frames).map((m) => m.mask);
export const lastEncodings = (frames: Buffer[]) => only('encodings')(frames).at(-1)?.encodings ?? [];
