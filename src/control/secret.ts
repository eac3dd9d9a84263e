import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks the control API's `Authorization` header (the bare secret, as the original program
 * expected, or `Bearer <secret>`). Both sides are hashed first so the comparison takes the same
 * time whatever the length or content of the guess.
 */
export function createSecretCheck(secret: string): (header: string | undefined) => boolean {
  const expected = createHash('sha256').update(secret).digest();
  return (header) => {
    if (header === undefined) return false;
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : header;
    return timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
  };
}
