import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a player link's token stands for (POST /recordings/<id>/link). */
export interface PlayerGrant {
  recording: string;
}

/** How long the player page, once its link was opened, may load its recording. */
export const PLAYER_VIEW_MS = 60 * 60 * 1000;

/**
 * The cookie a redeemed player link leaves: the recording's id and an expiry under an HMAC, so
 * any replica that shares the key can check it without a store. The key is derived from
 * `redis_secret_key` when replicas share one, else random per process (one process serves all).
 */
export class PlayerAccess {
  private readonly key: Buffer;

  constructor(
    sharedSecret: Buffer | null,
    private readonly now: () => number = Date.now,
  ) {
    this.key = sharedSecret ? createHmac('sha256', sharedSecret).update('proxmoxvnc player cookie').digest() : randomBytes(32);
  }

  /** A cookie value for `recording`, good for PLAYER_VIEW_MS. */
  issue(recording: string): string {
    const expires = String(this.now() + PLAYER_VIEW_MS);
    return `${expires}.${this.mac(recording, expires)}`;
  }

  /** Whether `cookie` was issued for `recording` and has not expired. */
  allows(cookie: string | undefined, recording: string): boolean {
    const [expires, mac, ...rest] = (cookie ?? '').split('.');
    if (expires === undefined || mac === undefined || rest.length > 0 || !/^\d{1,15}$/.test(expires)) return false;
    const expected = Buffer.from(this.mac(recording, expires));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) && Number(expires) > this.now();
  }

  private mac(recording: string, expires: string): string {
    return createHmac('sha256', this.key).update(`${recording}.${expires}`).digest('base64url');
  }
}
