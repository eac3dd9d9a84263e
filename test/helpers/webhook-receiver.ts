import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An event as the backend gets it. */
export interface ReceivedEvent {
  id: string;
  type: string;
  time: string;
  session_id: string | null;
  token_prefix: string;
  vmid: number;
  tag: string | null;
  data: Record<string, unknown>;
}

export interface ReceivedRequest {
  body: string;
  signature: string | undefined;
  /** Whether X-Proxmoxvnc-Signature is the HMAC of `<t>.<body>` under the secret. */
  signed: boolean;
  /** What the receiver answered: a status, or none (it hung). */
  answered: number | 'hung';
}

/** `answer` of the n-th request (0-based): a status and headers, or 'hang' to never answer. */
export type Answer = (n: number, event: ReceivedEvent) => { status: number; headers?: Record<string, string> } | 'hang';

/** A backend's webhook endpoint on 127.0.0.1, written apart from the gateway's signer: it checks what the README tells backends to check. */
export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Events answered 2xx, in arrival order. */
  accepted: ReceivedEvent[];
  /** Requests being held without an answer now. */
  hanging(): number;
  setAnswer(answer: Answer): void;
  close(): Promise<void>;
}

export function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]));
  if (!parts.t || !parts.v1 || !/^\d+$/.test(parts.t)) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(secret: string, initial: Answer = () => ({ status: 200 })): Promise<WebhookReceiver> {
  let answer = initial;
  const requests: ReceivedRequest[] = [];
  const accepted: ReceivedEvent[] = [];
  const held = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = request.headers['x-proxmoxvnc-signature'];
      const event = JSON.parse(body) as ReceivedEvent;
      const entry: ReceivedRequest = { body, signature: typeof header === 'string' ? header : undefined, signed: verifySignature(secret, typeof header === 'string' ? header : undefined, body), answered: 'hung' };
      const decision = answer(requests.length, event);
      requests.push(entry);
      if (decision === 'hang') {
        held.add(response);
        response.on('close', () => held.delete(response));
        return;
      }
      entry.answered = decision.status;
      if (decision.status >= 200 && decision.status < 300) accepted.push(event);
      response.writeHead(decision.status, decision.headers ?? {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/proxmoxvnc`,
    requests,
    accepted,
    hanging: () => held.size,
    setAnswer(next) {
      answer = next;
    },
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
