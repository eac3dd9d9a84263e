import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-proxmoxvnc-signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, Stripe's scheme: the time is signed
 * with the body, so a receiver that refuses old timestamps refuses replays too.
 */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
