import WebSocket, { type RawData } from 'ws';
import { toBuffer } from './upstream-socket.js';

/**
 * termproxy's login (pve-protocol.md section 4): the client sends `<user>:<ticket>\n`, the server
 * answers `OK` (terminal output may follow in the same frame) or closes.
 */
export function termLoginLine(user: string, ticket: string): Buffer {
  return Buffer.from(`${user}:${ticket}\n`, 'utf8');
}

const ACCEPTED = Buffer.from('OK', 'latin1');

export type LoginAnswer = { state: 'incomplete' } | { state: 'accepted'; output: Buffer } | { state: 'refused' };

/** Reads the server's answer from the bytes received so far. */
export function readLoginAnswer(received: Buffer): LoginAnswer {
  const compared = Math.min(received.length, ACCEPTED.length);
  if (!received.subarray(0, compared).equals(ACCEPTED.subarray(0, compared))) return { state: 'refused' };
  if (received.length < ACCEPTED.length) return { state: 'incomplete' };
  return { state: 'accepted', output: received.subarray(ACCEPTED.length) };
}

export class TermLoginRefusedError extends Error {
  constructor() {
    super('the terminal refused the login');
    this.name = 'TermLoginRefusedError';
  }
}

export class TermLoginTimeoutError extends Error {
  constructor(ms: number) {
    super(`the terminal did not answer the login within ${ms} ms`);
    this.name = 'TermLoginTimeoutError';
  }
}

/** A termproxy websocket past its login. */
export interface LoggedInTerminal {
  ws: WebSocket;
  /**
   * Returns the terminal output received since `OK` and stops collecting it. The socket is paused
   * by then; whoever takes over must attach its listeners in the same tick, then `resume()` it.
   */
  takeOutput(): Buffer;
}

/**
 * Logs in on a freshly opened termproxy websocket (paused, as ProxmoxClient.openVncWebsocket
 * returns it). Rejects with TermLoginRefusedError or TermLoginTimeoutError; the caller closes
 * the socket then.
 */
export function logInToTerminal(ws: WebSocket, user: string, ticket: string, timeoutMs: number): Promise<LoggedInTerminal> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let accepted = false;
    const output: Buffer[] = [];

    const finish = (err: Error | null) => {
      clearTimeout(timer);
      ws.off('close', onClose);
      if (err) {
        ws.off('message', onMessage);
        reject(err);
        return;
      }
      accepted = true;
      // Messages already parsed from the same TCP chunk are still emitted; they land in `output`.
      ws.pause();
      resolve({
        ws,
        takeOutput: () => {
          ws.off('message', onMessage);
          return Buffer.concat(output);
        },
      });
    };
    const onMessage = (data: RawData) => {
      if (accepted) {
        output.push(toBuffer(data));
        return;
      }
      received = Buffer.concat([received, toBuffer(data)]);
      const answer = readLoginAnswer(received);
      if (answer.state === 'refused') finish(new TermLoginRefusedError());
      else if (answer.state === 'accepted') {
        output.push(answer.output);
        finish(null);
      }
    };
    const onClose = () => finish(new TermLoginRefusedError());
    const timer = setTimeout(() => finish(new TermLoginTimeoutError(timeoutMs)), timeoutMs);

    ws.on('message', onMessage);
    ws.on('close', onClose);
    if (ws.readyState !== WebSocket.OPEN) {
      finish(new TermLoginRefusedError());
      return;
    }
    ws.resume();
    ws.send(termLoginLine(user, ticket), { binary: true, compress: false, fin: true });
  });
}
