// What the page sends to the gateway: termproxy's client messages (pve-protocol.md section 4),
// which the gateway checks and passes on. The gateway logs in upstream itself.

/** The gateway refuses larger input messages; a long paste goes as several. */
const MAX_INPUT_CHUNK = 16 * 1024;

const encoder = new TextEncoder();

function withHeader(header: string, data: Uint8Array): Uint8Array {
  const head = encoder.encode(header);
  const message = new Uint8Array(head.length + data.length);
  message.set(head);
  message.set(data, head.length);
  return message;
}

/** `0:<length in bytes>:<data>` messages for terminal input, split where needed. */
export function inputMessages(data: Uint8Array): Uint8Array[] {
  const messages: Uint8Array[] = [];
  // The pty takes bytes: a cut inside a UTF-8 sequence is joined again on the other side.
  for (let at = 0; at < data.length; at += MAX_INPUT_CHUNK) {
    const piece = data.subarray(at, at + MAX_INPUT_CHUNK);
    messages.push(withHeader(`0:${piece.length}:`, piece));
  }
  return messages;
}

export function textInput(text: string): Uint8Array[] {
  return inputMessages(encoder.encode(text));
}

/** xterm.js hands some reports (e.g. mouse in X10 mode) over as one byte per character. */
export function binaryInput(data: string): Uint8Array[] {
  return inputMessages(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
}

export function resizeMessage(cols: number, rows: number): Uint8Array {
  return encoder.encode(`1:${cols}:${rows}:`);
}
