// VNC authentication (RFB security type 2) as QEMU checks it: a DES-encrypted random challenge
// under the current password, which may be unset or expired.
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';

/** Single DES in ECB mode, without padding, over whole 8-byte blocks. */
export function desEcbEncrypt(key: Buffer, plaintext: Buffer): Buffer {
  // Node's OpenSSL 3 has no plain des-ecb outside the legacy provider; EDE with K1 = K2 is
  // E(K) D(K) E(K) = E(K), i.e. single DES.
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

function mirrorBits(byte: number): number {
  let mirrored = 0;
  for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) mirrored |= 0x80 >> bit;
  return mirrored;
}

/** The response a client must send for a challenge: the password's first 8 bytes, zero-padded, bit-mirrored, as the DES key. */
export function expectedVncResponse(challenge: Buffer, password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  return desEcbEncrypt(Buffer.from(key.map(mirrorBits)), challenge);
}

export function newChallenge(): Buffer {
  return randomBytes(16);
}

/** A guest display's VNC password, as QEMU holds it: one at a time, with an expiry. */
export class VncPassword {
  private password: string | undefined;
  private expiresAt = 0;

  set(password: string, lifetimeMs: number): void {
    this.password = password;
    this.expiresAt = Date.now() + lifetimeMs;
  }

  /** Checks a client's response against the password valid at this moment. */
  verify(challenge: Buffer, response: Buffer): boolean {
    if (this.password === undefined || Date.now() >= this.expiresAt || response.length !== 16) return false;
    return timingSafeEqual(expectedVncResponse(challenge, this.password), response);
  }
}
