import WebSocket from 'ws';
import { OpeningCancelledError, ProxmoxError, proxmoxHttpError } from './errors.js';
import type { HostPolicy } from './host-policy.js';
import { formatTarget, networkErrorToProxmox, wsCreateConnection, type TlsPolicy, type TlsTarget } from './tls.js';

export interface VncWebsocketDial {
  policy: TlsPolicy;
  target: TlsTarget;
  /** `proxmox_hosts_allowed`, checked against the address the name resolves to now. */
  hosts?: HostPolicy;
  /** https URL of the vncwebsocket route, without query. */
  url: string;
  port: number;
  vncTicket: string;
  /** Cookie or API-token header. */
  headers: Record<string, string>;
  /** Strings that must not appear in error messages. */
  secrets: readonly string[];
  handshakeTimeoutMs: number;
  /** Abandons the dial (the browser left). */
  signal?: AbortSignal;
}

// pveproxy sends frames of at most 128 KiB and never fragments; this leaves room without
// letting a broken upstream make us buffer without bound.
const MAX_UPSTREAM_MESSAGE = 1024 * 1024;

/** Percent-encodes every character but letters and digits: the ticket holds `+`, `/`, `=`, `:`, `!`... */
function percentEncodeAll(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*~._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Dials Proxmox's vncwebsocket. pveproxy answers the upgrade only after its inner connection
 * succeeded and sends nothing at all when that fails, so the dial has its own overall deadline.
 * Resolves with the socket paused: call `resume()` once its message listener is attached.
 */
export function dialVncWebsocket(dial: VncWebsocketDial): Promise<WebSocket> {
  const query = `?port=${dial.port}&vncticket=${percentEncodeAll(dial.vncTicket)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${dial.url.replace(/^https:/, 'wss:')}${query}`, ['binary'], {
      headers: dial.headers,
      perMessageDeflate: false,
      maxPayload: MAX_UPSTREAM_MESSAGE,
      followRedirects: false,
      // Node's http accepts the callback form of createConnection; ws's types only know the other.
      createConnection: wsCreateConnection(dial.policy, dial.target, dial.handshakeTimeoutMs, dial.hosts) as unknown as WebSocket.ClientOptions['createConnection'],
    });
    let settled = false;

    function settle(err: Error | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dial.signal?.removeEventListener('abort', onAbort);
      ws.off('open', onOpen);
      ws.off('unexpected-response', onUnexpectedResponse);
      if (err) {
        ws.terminate();
        reject(err);
      } else {
        resolve(ws);
      }
    }
    function onOpen(): void {
      // The RFB server speaks first, possibly in the same TCP segment as the 101; paused, no
      // message can be emitted before the caller listens.
      ws.pause();
      settle(null);
    }
    function onUnexpectedResponse(_req: unknown, res: { statusCode?: number; statusMessage?: string }): void {
      settle(proxmoxHttpError(res.statusCode ?? 0, res.statusMessage ?? '', dial.secrets));
    }
    const timer = setTimeout(() => {
      settle(new ProxmoxError('proxmox_timeout', `Proxmox at ${formatTarget(dial.target)} did not open the console websocket within ${dial.handshakeTimeoutMs} ms.`));
    }, dial.handshakeTimeoutMs);

    function onAbort(): void {
      settle(new OpeningCancelledError());
    }
    if (dial.signal?.aborted) onAbort();
    dial.signal?.addEventListener('abort', onAbort);
    ws.on('open', onOpen);
    ws.on('unexpected-response', onUnexpectedResponse);
    // Stays attached for the socket's life: the caller adds its own handling, and an 'error'
    // without any listener would crash the process.
    ws.on('error', (err) => settle(networkErrorToProxmox(err, dial.target)));
  });
}
