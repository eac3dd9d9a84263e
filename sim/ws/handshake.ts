import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../http/errors.js';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether pveproxy would treat this as a websocket upgrade (rather than a plain GET). */
export function wantsWebsocket(headers: IncomingHttpHeaders): boolean {
  return (single(headers, 'upgrade') ?? '').toLowerCase() === 'websocket';
}

/**
 * pveproxy's checks of the upgrade headers, and its 101 answer: the client's
 * Sec-WebSocket-Protocol is echoed back verbatim and no extension is ever accepted.
 */
export function websocketAcceptResponse(headers: IncomingHttpHeaders): string {
  const version = single(headers, 'sec-websocket-version');
  if (version !== '13') throw new ApiError(500, `unsupported websocket-version '${version ?? ''}'\n`);
  const key = single(headers, 'sec-websocket-key');
  if (!key) throw new ApiError(500, 'missing websocket-key\n');
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
  const protocol = single(headers, 'sec-websocket-protocol');
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: upgrade',
    `Sec-WebSocket-Accept: ${accept}`,
    ...(protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
