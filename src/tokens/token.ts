import { randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, URL-safe: console links are bearer secrets. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens and session ids travel in URL paths: anything else is not ours and is refused early. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
