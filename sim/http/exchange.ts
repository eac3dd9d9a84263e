import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './errors.js';

/** One API request, whether it came as a plain request or as an upgrade. */
export interface Exchange {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** Set for upgrade requests: the connection, which a websocket route may take over. */
  upgrade: { socket: Duplex; head: Buffer } | null;
}

/** What goes back when a route does not take the connection over. */
export interface Answer {
  status: number;
  /** HTTP reason phrase. */
  reason: string;
  body: string | null;
}

const MAX_BODY = 64 * 1024;

function flatten(json: unknown): Record<string, string> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ApiError(400, 'Parameter verification failed.\n', { errors: { body: 'JSON body must be an object' } });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === 'boolean') out[key] = value ? '1' : '0';
    else if (typeof value === 'string' || typeof value === 'number') out[key] = String(value);
    else out[key] = JSON.stringify(value);
  }
  return out;
}

/** Query parameters merged with a form-encoded or JSON body, as pveproxy merges them. */
export async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, string>> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (req.method === 'GET' || req.method === 'HEAD') return params;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, 'Request Entity Too Large\n');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return params;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'Parameter verification failed.\n', { errors: { body: 'malformed JSON' } });
    }
    return { ...params, ...flatten(json) };
  }
  return { ...params, ...Object.fromEntries(new URLSearchParams(text)) };
}

/** Status line reasons cannot hold line breaks; Proxmox uses the message's first line. */
export function reasonOf(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/[^\x20-\x7e]/g, '?');
}

export function writeAnswer(res: ServerResponse, answer: Answer): void {
  res.statusCode = answer.status;
  res.statusMessage = answer.reason;
  // pveproxy closes the connection after every error.
  if (answer.status >= 400) res.setHeader('Connection', 'close');
  res.setHeader('Cache-Control', 'max-age=0');
  if (answer.body === null) {
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json;charset=UTF-8');
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}

/** The same answer on a connection that arrived as an upgrade request; it is closed afterwards. */
export function writeRawAnswer(socket: Duplex, answer: Answer): void {
  const body = answer.body ?? '';
  const head = [
    `HTTP/1.1 ${answer.status} ${answer.reason}`,
    'Connection: close',
    'Cache-Control: max-age=0',
    ...(answer.body === null ? [] : ['Content-Type: application/json;charset=UTF-8']),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
