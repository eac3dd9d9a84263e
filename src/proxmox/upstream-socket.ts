import WebSocket, { type RawData } from 'ws';

/** pveproxy never answers a Close frame the way ws waits for; do not hold the socket for ws's 30 s. */
const UPSTREAM_CLOSE_GRACE_MS = 2_000;

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Closes the upstream cleanly if it lets us, and for certain shortly after. */
export function closeUpstream(upstream: WebSocket): void {
  if (upstream.readyState === WebSocket.CLOSED) return;
  if (upstream.readyState === WebSocket.CONNECTING) {
    upstream.terminate();
    return;
  }
  upstream.close(1000);
  setTimeout(() => upstream.terminate(), UPSTREAM_CLOSE_GRACE_MS).unref();
}

