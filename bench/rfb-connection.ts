// One measuring RFB client over a console websocket: the handshake is the tests' client's, the
// stream after it is followed by the header-only parser.
import type WebSocket from 'ws';
import type { RawData } from 'ws';
import { ENCODING_RAW, RfbTestClient } from '../test/helpers/rfb-client.js';
import { ServerMessageParser } from './server-messages.js';

export interface ConsoleSocket {
  /** Paused, so nothing arrives before the handshake listens. */
  ws: WebSocket;
  /** The VNC password when the server asks for VNC authentication (direct), none for security None (gateway). */
  password?: string;
}

const BYTES_PER_PIXEL = 4;

export class BenchRfbConnection {
  /** RFB bytes received since the handshake. */
  bytesReceived = 0;
  /** Called after each complete framebuffer update. */
  onUpdate: () => void = () => {};
  /** Rejects when the connection breaks or the server sends something unexpected. */
  readonly failed: Promise<never>;

  private waitingCutText: { resolve(text: string): void; reject(err: Error): void } | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly rfb: RfbTestClient,
    readonly width: number,
    readonly height: number,
  ) {
    const parser = new ServerMessageParser(BYTES_PER_PIXEL, {
      onUpdate: () => this.onUpdate(),
      onCutText: (text) => this.waitingCutText?.resolve(text),
    });
    this.failed = new Promise<never>((_, rejectFailed) => {
      const reject = (err: Error) => {
        rejectFailed(err);
        this.waitingCutText?.reject(err);
      };
      // The tests' client copies every byte it buffers: after ServerInit the server is silent
      // until asked, so it can hand the socket to the parser here without losing a byte.
      ws.removeAllListeners('message');
      ws.on('message', (data: RawData) => {
        const chunk = data as Buffer;
        this.bytesReceived += chunk.length;
        try {
          parser.push(chunk);
        } catch (err) {
          reject(err as Error);
          ws.terminate();
        }
      });
      ws.on('close', () => reject(new Error('the console websocket closed')));
    });
    this.failed.catch(() => {});
  }

  /** Handshakes, then asks for 32-bit pixels in raw encoding. */
  static async start(socket: ConsoleSocket): Promise<BenchRfbConnection> {
    const rfb = RfbTestClient.overWebSocket(socket.ws);
    socket.ws.resume();
    const result = await rfb.handshake(socket.password === undefined ? {} : { password: socket.password });
    if (result.securityResult !== 0 || !result.serverInit) {
      socket.ws.terminate();
      throw new Error(`RFB handshake refused: ${result.reason ?? `security result ${result.securityResult}`}`);
    }
    const connection = new BenchRfbConnection(socket.ws, rfb, result.serverInit.width, result.serverInit.height);
    rfb.setPixelFormat32();
    rfb.setEncodings([ENCODING_RAW]);
    return connection;
  }

  requestScreen(): void {
    this.rfb.requestUpdate(false, 0, 0, this.width, this.height);
  }

  /** Sends a ClientCutText and resolves with the next ServerCutText's text (rejects as `failed` does). */
  cutTextRoundTrip(text: string): Promise<string> {
    const echoed = new Promise<string>((resolve, reject) => {
      this.waitingCutText = { resolve, reject };
    });
    this.rfb.clientCutText(text);
    return echoed;
  }

  close(): void {
    this.ws.terminate();
  }
}
