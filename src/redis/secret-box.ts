import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/** The key's short public name, so a value says which key sealed it (rotation). */
function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A redis_secret_key as configured: 32 bytes in hex (64 digits) or base64 (44 characters). */
export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  return key && key.length === KEY_BYTES ? key : null;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * AES-256-GCM for what the gateway keeps in Redis (Proxmox tickets, API-token secrets,
 * passwords): a dump of Redis alone opens nothing. Each value is bound to the Redis key it is
 * stored under (the associated data), so a sealed value moved to another key does not open.
 * Older keys may be given to open values sealed before a rotation; new values use the first key.
 */
export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(key: Buffer, previous: Buffer[] = []) {
    for (const k of [key, ...previous]) {
      if (k.length !== KEY_BYTES) throw new SecretBoxError(`a secret key must be ${KEY_BYTES} bytes`);
      this.byId.set(keyId(k), k);
    }
    this.current = { id: keyId(key), key };
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** Throws SecretBoxError when the value was not sealed by a known key for `boundTo`, or was altered. */
  open(sealed: string, boundTo: string): string {
    const [version, id, iv, tag, body, ...rest] = sealed.split('.');
    if (version !== VERSION || rest.length > 0 || id === undefined || iv === undefined || tag === undefined || body === undefined) {
      throw new SecretBoxError('not a sealed value');
    }
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`sealed with an unknown key (${id}): was redis_secret_key changed on one replica only?`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(Buffer.from(tag, 'base64url').subarray(0, TAG_BYTES));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('the sealed value does not open with this key and name');
    }
  }
}
