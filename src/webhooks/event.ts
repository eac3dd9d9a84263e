import { createHash, randomUUID } from 'node:crypto';

export type WebhookEventType =
  | 'token.created'
  | 'token.revoked'
  | 'token.expired'
  | 'session.redeemed'
  | 'viewer.connected'
  | 'viewer.disconnected'
  | 'session.ended'
  | 'power.action';

/**
 * An event's JSON body, in the two parts the gateway writes and the fields the store fills in
 * between them (`token_prefix`, `vmid`, `tag`: see commonFields). A session's end is told once
 * its record is gone, on whichever replica heard of it: those fields then come from what the
 * store kept at redemption, so the store assembles the body as the event is queued.
 */
export interface EventParts {
  id: string;
  head: string;
  tail: string;
}

export function newEventId(): string {
  return `evt_${randomUUID().replace(/-/g, '')}`;
}

/** `{"id":…,"type":…,"time":…,"session_id":…,` and `,"data":{…}}`: one JSON object with the common fields between. */
export function eventParts(type: WebhookEventType, sessionId: string | null, data: Record<string, unknown>, at: number): EventParts {
  const id = newEventId();
  const head = `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"time":${JSON.stringify(new Date(at).toISOString())},"session_id":${JSON.stringify(sessionId)},`;
  return { id, head, tail: `,"data":${JSON.stringify(data)}}` };
}

/** The fields every event carries about its link: `"token_prefix":…,"vmid":…,"tag":…`. */
export function commonFields(tokenPrefix: string, vmid: number, tag: string | undefined): string {
  return `"token_prefix":${JSON.stringify(tokenPrefix)},"vmid":${JSON.stringify(vmid)},"tag":${JSON.stringify(tag ?? null)}`;
}

export function assemble(parts: EventParts, common: string): string {
  return `${parts.head}${common}${parts.tail}`;
}

/**
 * The order key of a link's events, from its token: its token events and, once redeemed, its
 * session's are delivered in one sequence. A one-way hash: the store never holds the token.
 */
export function linkKey(token: string): string {
  return createHash('sha256').update(`webhook-order|${token}`).digest('hex').slice(0, 32);
}
