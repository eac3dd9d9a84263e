import type { CookieSerializeOptions } from '@fastify/cookie';

export const SESSION_COOKIE = 'pvnc_session';

export interface CookiePolicy {
  /** The public origin is https: the cookie may only travel over TLS. */
  secure: boolean;
  /** Some site may frame the console (frame_ancestors is set). */
  embeddable: boolean;
}

/**
 * Scoped to the one session's path, so two consoles open in one browser keep their own cookies.
 * Framed in a panel on another site over HTTPS, the cookie must be SameSite=None and Partitioned
 * (CHIPS), or browsers that block third-party cookies drop it inside the frame.
 */
export function sessionCookieOptions(sessionId: string, policy: CookiePolicy): CookieSerializeOptions {
  const crossSite = policy.secure && policy.embeddable;
  return {
    path: `/console/${sessionId}/`,
    httpOnly: true,
    secure: policy.secure,
    sameSite: crossSite ? 'none' : 'lax',
    ...(crossSite ? { partitioned: true } : {}),
  };
}
