import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A session's cookie secret and the only form of it a store keeps. */
export function newCookieSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashCookieSecret(secret) };
}

export function hashCookieSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function cookieMatches(hash: string, secret: string | undefined): boolean {
  if (secret === undefined) return false;
  const given = Buffer.from(hashCookieSecret(secret), 'hex');
  const kept = Buffer.from(hash, 'hex');
  return given.length === kept.length && timingSafeEqual(given, kept);
}

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
