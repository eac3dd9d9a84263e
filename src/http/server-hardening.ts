import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** A request's headers must be in by then, or the connection is answered 408 and closed. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** A whole request (headers and body); websockets are not affected once upgraded. */
const REQUEST_TIMEOUT_MS = 30_000;
/** An open connection with no traffic at all. */
const CONNECTION_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * Node checks the headers and request timeouts only this often (30 s by default), so a stalled
 * request was cut after 41 to 48 s, not 15: checking every second keeps the timeouts as stated.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Slow or stalled clients must not hold sockets for long, on the main port and every session's
 * port alike; requests Node's parser refuses get an answer in the API's error shape.
 * Must run before `listen`: Node reads the check interval when the server starts listening.
 */
export function hardenHttpServer(server: Server): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.setTimeout(CONNECTION_TIMEOUT_MS);
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;
}

const REFUSALS: Record<string, { status: string; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', error: 'headers_too_large', message: 'the request line and headers are larger than allowed' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', error: 'request_timeout', message: 'the request did not arrive in time' },
};
const MALFORMED = { status: '400 Bad Request', error: 'invalid_request', message: 'the request could not be parsed' };

/**
 * A request Node's parser refused or timed out before any handler saw it: answered in the API's
 * error shape, and the connection closed, since its stream cannot be trusted.
 */
export function refuseUnparsedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const refusal = REFUSALS[error.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify({ status: 'error', error: refusal.error, message: refusal.message });
  socket.end(`HTTP/1.1 ${refusal.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}
