import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Proxmox encodes times in tickets as 8 upper-case hex digits of unix seconds. */
function hexTime(nowMs: number): string {
  return Math.floor(nowMs / 1000).toString(16).toUpperCase().padStart(8, '0');
}

function timeOf(hex: string): number | null {
  return /^[0-9A-F]{8}$/.test(hex) ? parseInt(hex, 16) * 1000 : null;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A validity window relative to the time in a ticket: -skewMs < age < lifetimeMs. */
export interface TicketWindow {
  lifetimeMs: number;
  skewMs: number;
}

function withinWindow(issuedMs: number, window: TicketWindow, nowMs: number): boolean {
  const age = nowMs - issuedMs;
  return age > -window.skewMs && age < window.lifetimeMs;
}

/**
 * Issues and checks the cluster's tickets. Real Proxmox signs with an RSA key (`authkey.key`);
 * an HMAC key made at start is indistinguishable to clients, which treat signatures as opaque.
 */
export class TicketAuthority {
  private readonly ticketKey = randomBytes(64);
  private readonly csrfKey = randomBytes(32);

  constructor(private readonly now: () => number = Date.now) {}

  private sign(data: string): string {
    return createHmac('sha512', this.ticketKey).update(data).digest('base64');
  }

  /** `PVE:<user@realm>:<hex time>::<base64 signature>` */
  loginTicket(userid: string): string {
    const plain = `PVE:${userid}:${hexTime(this.now())}`;
    return `${plain}::${this.sign(plain)}`;
  }

  /** The user a login ticket belongs to, or null when it is forged, malformed or out of its window. */
  verifyLoginTicket(ticket: string, window: TicketWindow): string | null {
    const match = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!match) return null;
    const [, plain, userid, time, signature] = match as unknown as [string, string, string, string, string];
    const issued = timeOf(time);
    if (issued === null || !sameString(this.sign(plain), signature)) return null;
    return withinWindow(issued, window, this.now()) ? userid : null;
  }

  /** `<hex time>:<43-character base64 HMAC-SHA256>` of `<time>:<user>`, as PVE::Ticket does. */
  csrfToken(userid: string): string {
    const time = hexTime(this.now());
    return `${time}:${this.csrfDigest(time, userid)}`;
  }

  private csrfDigest(time: string, userid: string): string {
    return createHmac('sha256', this.csrfKey).update(`${time}:${userid}`).digest('base64').replace(/=+$/, '');
  }

  verifyCsrfToken(token: string, userid: string, window: TicketWindow): boolean {
    const match = /^([0-9A-F]{8}):([A-Za-z0-9+/]{43})$/.exec(token);
    if (!match) return false;
    const [, time, digest] = match as unknown as [string, string, string];
    const issued = timeOf(time);
    return issued !== null && sameString(this.csrfDigest(time, userid), digest) && withinWindow(issued, window, this.now());
  }

  /**
   * A console ticket for `user` on `authPath`. With `password` (current releases) the ticket is
   * `<password>:PVEVNC:...`; with `port` it is only good for that listener port.
   */
  vncTicket(user: string, authPath: string, binding: { password?: string; port?: number }): string {
    const plain = `PVEVNC:${hexTime(this.now())}`;
    const signature = this.sign(this.vncSignedData(plain, user, authPath, binding));
    const ticket = `${plain}::${signature}`;
    return binding.password === undefined ? ticket : `${binding.password}:${ticket}`;
  }

  private vncSignedData(plain: string, user: string, authPath: string, binding: { password?: string; port?: number }): string {
    return [plain, user, authPath, binding.password ?? '', binding.port ?? ''].join('\0');
  }

  /** Whether a console ticket matches user, path and (when the release binds it) port and is in its window. */
  verifyVncTicket(ticket: string, user: string, authPath: string, bindPort: number | null, window: TicketWindow): boolean {
    const match = /^(?:(.{8}):)?(PVEVNC:([0-9A-F]{8}))::(.+)$/s.exec(ticket);
    if (!match) return false;
    const [, password, plain, time, signature] = match as unknown as [string, string | undefined, string, string, string];
    const issued = timeOf(time);
    const binding = { password, port: bindPort ?? undefined };
    return issued !== null && sameString(this.sign(this.vncSignedData(plain, user, authPath, binding)), signature) && withinWindow(issued, window, this.now());
  }
}
