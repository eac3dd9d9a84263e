import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { authFailure } from '../http/errors.js';
import type { Inventory } from '../inventory.js';
import type { TicketAuthority, TicketWindow } from './tickets.js';
import { findUser, type Identity } from './permissions.js';

/** How a request authenticated: a ticket needs a CSRF token on non-GET requests, a token does not. */
export interface Authenticated {
  identity: Identity;
  via: 'ticket' | 'token';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodeCookieValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The login ticket from `Cookie: PVEAuthCookie=...` (escaped or not) or `Authorization: PVEAuthCookie=...`. */
export function ticketFrom(headers: IncomingHttpHeaders): string | undefined {
  for (const part of (header(headers, 'cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'PVEAuthCookie') return decodeCookieValue(part.slice(eq + 1).trim());
  }
  const authorization = header(headers, 'authorization') ?? '';
  return authorization.startsWith('PVEAuthCookie=') ? authorization.slice('PVEAuthCookie='.length) : undefined;
}

/** `PVEAPIToken=user@realm!tokenid=secret`, split; undefined when the header is not a token. */
export function apiTokenFrom(headers: IncomingHttpHeaders): { userid: string; tokenid: string; secret: string } | undefined {
  const match = /^PVEAPIToken=([^!\s]+)!([^=\s]+)[=\s](.+)$/.exec(header(headers, 'authorization') ?? '');
  if (!match) return undefined;
  return { userid: match[1]!, tokenid: match[2]!, secret: match[3]! };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who is calling; a ticket (cookie) wins over a token header. Failures are 401 with no body. */
export function authenticate(headers: IncomingHttpHeaders, inventory: Inventory, authority: TicketAuthority, window: TicketWindow): Authenticated {
  const ticket = ticketFrom(headers);
  if (ticket !== undefined) {
    const userid = authority.verifyLoginTicket(ticket, window);
    const user = userid === null ? undefined : findUser(inventory, userid);
    if (!user) throw authFailure('permission denied - invalid PVE ticket');
    return { identity: { user, token: null }, via: 'ticket' };
  }
  const token = apiTokenFrom(headers);
  if (token) {
    const user = findUser(inventory, token.userid);
    const found = user?.tokens.find((t) => t.id === token.tokenid);
    if (!user || !found || !sameSecret(found.secret, token.secret)) throw authFailure('invalid token value!');
    return { identity: { user, token: found }, via: 'token' };
  }
  throw authFailure('No ticket');
}

export function checkCsrf(headers: IncomingHttpHeaders, userid: string, authority: TicketAuthority, window: TicketWindow): void {
  const token = header(headers, 'csrfpreventiontoken');
  if (token === undefined || !authority.verifyCsrfToken(token, userid, window)) throw authFailure('Permission denied - invalid csrf token');
}
