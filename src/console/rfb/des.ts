import { createCipheriv } from 'node:crypto';

const BLOCK = 8;

/** Single DES in ECB mode, no padding. */
export function desEncryptEcb(key: Buffer, plaintext: Buffer): Buffer {
  if (key.length !== BLOCK) throw new Error('DES key must be 8 bytes');
  if (plaintext.length % BLOCK !== 0) throw new Error('DES plaintext must be a multiple of 8 bytes');
  // OpenSSL 3 hides plain des-ecb behind the legacy provider; two-key triple DES with K1 = K2
  // collapses to single DES (E_K(D_K(E_K(x))) = E_K(x)) and is always available.
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/** The DES key VNC authentication derives from a password: 8 bytes, zero-padded, bits reversed. */
export function vncDesKey(password: string): Buffer {
  const key = Buffer.alloc(BLOCK);
  Buffer.from(password, 'latin1').copy(key, 0, 0, BLOCK);
  return Buffer.from(key.map(reverseBits));
}

/** Response to a 16-byte VNC authentication challenge. */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  if (challenge.length !== 16) throw new Error('VNC challenge must be 16 bytes');
  return desEncryptEcb(vncDesKey(password), challenge);
}
