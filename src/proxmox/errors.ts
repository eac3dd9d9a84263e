export type ProxmoxErrorCode =
  | 'proxmox_auth_failed'
  | 'guest_not_found'
  | 'guest_not_running'
  | 'permission_denied'
  | 'proxmox_unreachable'
  | 'tls_verification_failed'
  | 'node_not_found'
  | 'xterm_requires_password'
  | 'serial_not_configured'
  | 'proxmox_timeout'
  | 'proxmox_error';

/**
 * A Proxmox-side failure with a stable code for the control API. Its message is meant for the
 * backend's operator: it may name hosts and guests, never a password, ticket, CSRF token or secret.
 */
export class ProxmoxError extends Error {
  readonly code: ProxmoxErrorCode;
  readonly httpStatus: 502 | 504;

  constructor(code: ProxmoxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxmoxError';
    this.code = code;
    this.httpStatus = code === 'proxmox_timeout' ? 504 : 502;
  }
}

export function isProxmoxError(err: unknown, code?: ProxmoxErrorCode): err is ProxmoxError {
  return err instanceof ProxmoxError && (code === undefined || err.code === code);
}

/** Removes every occurrence of the given secrets from text that came from Proxmox or the network. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/**
 * Maps an HTTP error answer of the Proxmox API to a code. Decisions rest on the status code; the
 * text (reason phrase, or `message` on newer releases) only tells apart the 500 cases, because
 * Proxmox reports a missing guest or node as a handler failure.
 */
export function proxmoxHttpError(status: number, text: string, secrets: readonly (string | undefined)[]): ProxmoxError {
  const detail = redact(text.split('\n')[0]!.trim(), secrets).slice(0, 300);
  const suffix = detail ? ` (${status} ${detail})` : ` (${status})`;
  if (status === 401) return new ProxmoxError('proxmox_auth_failed', `Proxmox rejected the credentials${suffix}.`);
  if (status === 403) return new ProxmoxError('permission_denied', `Proxmox denied the request${suffix}.`);
  if (status === 500 && /does not exist/i.test(detail)) {
    return new ProxmoxError('guest_not_found', `The guest does not exist on that node${suffix}.`);
  }
  if (status === 500 && /hostname lookup/i.test(detail)) {
    return new ProxmoxError('node_not_found', `The node is not part of the cluster${suffix}.`);
  }
  return new ProxmoxError('proxmox_error', `Proxmox answered with an error${suffix}.`);
}

/**
 * The browser that asked for a console left while it was being opened: the calls and the dial
 * for it were abandoned. Not a Proxmox failure, and never counted as one.
 */
export class OpeningCancelledError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the console opening was cancelled: the browser left', options);
    this.name = 'OpeningCancelledError';
  }
}
