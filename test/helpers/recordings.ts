import { parseVncRecording, VncRecordType } from '../../src/recordings/vnc-format.js';

/** The characters typed (key-down events) in a VNC recording's browser messages. */
export function keysTyped(file: Buffer): string {
  const input = Buffer.concat(parseVncRecording(file).records.filter((r) => r.type === VncRecordType.FromBrowser).map((r) => r.payload));
  const keys: number[] = [];
  for (let at = 0; at < input.length; ) {
    const type = input[at];
    if (type === 4) {
      if (input[at + 1] === 1) keys.push(input.readUInt32BE(at + 4));
      at += 8;
    } else if (type === 0) at += 20;
    else if (type === 2) at += 4 + 4 * input.readUInt16BE(at + 2);
    else if (type === 3) at += 10;
    else throw new Error(`unexpected client message type ${type}`);
  }
  return String.fromCharCode(...keys);
}
