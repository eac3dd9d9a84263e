import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ClientFrameParser, MAX_FRAME_PAYLOAD, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT, serverFrameHeader, type Frame } from './frames.js';

export interface RelayOptions {
  /** Cut after this long with no data byte in either direction (pings do not count). */
  idleMs: number;
  /** Close after this many bytes towards the client (fault knob); null: never. */
  dropAfterBytes: number | null;
  onClose(): void;
}

/** Writes one unmasked frame; false when the socket's buffer is full. */
function writeFrame(socket: Duplex, opcode: number, payload: Buffer): boolean {
  socket.cork();
  socket.write(serverFrameHeader(opcode, payload.length));
  const flushed = socket.write(payload);
  socket.uncork();
  return flushed;
}

/**
 * Joins an upgraded client connection to a console's raw RFB stream, as pveproxy does: RFB bytes
 * go out as binary frames, client data frames go in as bytes, pings are answered here, and
 * anything pveproxy refuses (or a Close frame) just ends the TCP connection, never with a Close frame.
 * Each side is paused while the other side's write buffer is full.
 */
export function relayWebsocket(client: Duplex, head: Buffer, upstream: Socket, opts: RelayOptions): void {
  const parser = new ClientFrameParser();
  let sentToClient = 0;
  let closed = false;

  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(idleTimer);
    client.destroy();
    upstream.destroy();
    opts.onClose();
  };
  const idleTimer = setTimeout(close, opts.idleMs);
  idleTimer.unref();

  const fromClient = (frame: Frame): void => {
    switch (frame.opcode) {
      case OPCODE_TEXT:
      case OPCODE_BINARY:
        idleTimer.refresh();
        if (!upstream.write(frame.payload)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
        return;
      case OPCODE_PING:
        writeFrame(client, OPCODE_PONG, frame.payload);
        return;
      case OPCODE_PONG:
        return;
      case OPCODE_CLOSE:
        close();
        return;
    }
  };

  const onClientData = (chunk: Buffer): void => {
    try {
      for (const frame of parser.push(chunk)) {
        if (closed) return;
        fromClient(frame);
      }
    } catch {
      close();
    }
  };

  upstream.on('data', (chunk: Buffer) => {
    idleTimer.refresh();
    let data = chunk;
    if (opts.dropAfterBytes !== null) data = data.subarray(0, Math.max(0, opts.dropAfterBytes - sentToClient));
    sentToClient += data.length;
    let flushed = true;
    for (let at = 0; at < data.length; at += MAX_FRAME_PAYLOAD) {
      flushed = writeFrame(client, OPCODE_BINARY, data.subarray(at, at + MAX_FRAME_PAYLOAD));
    }
    if (opts.dropAfterBytes !== null && sentToClient >= opts.dropAfterBytes) {
      client.end(() => close());
      upstream.pause();
      return;
    }
    if (!flushed) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  });

  client.on('data', onClientData);
  for (const socket of [client, upstream]) {
    socket.on('error', close);
    socket.on('close', close);
  }
  upstream.on('end', close);
  client.on('end', close);
  if (head.length > 0) onClientData(head);
}
