import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { ProxmoxError } from './errors.js';
import { UpstreamReads } from './upstream-reads.js';
import type { HostPolicy } from './host-policy.js';

/** How the gateway decides to trust a Proxmox host's certificate. */
export type TlsPolicy =
  | { kind: 'system' }
  | { kind: 'ca'; caPem: string }
  | { kind: 'pin'; fingerprint: string }
  | { kind: 'insecure' };

export interface TlsSettings {
  /** Per-request SHA-256 pin of the leaf certificate. */
  fingerprint?: string;
  /** Content of `proxmox_ca_file`. */
  caPem?: string;
  /** `proxmox_tls_insecure`. */
  insecure?: boolean;
}

export interface TlsTarget {
  host: string;
  port: number;
}

const FINGERPRINT_BYTES = 32;

/**
 * Normalises a SHA-256 fingerprint as Proxmox shows it ("AB:CD:..."), in any case and with or
 * without colons, to upper-case colon-separated hex. Throws on anything else.
 */
export function parseFingerprint(text: string): string {
  const hex = text.trim().replace(/:/g, '');
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== FINGERPRINT_BYTES * 2) {
    throw new Error('fingerprint must be a SHA-256 fingerprint: 32 bytes in hex, colons optional');
  }
  return hex.toUpperCase().match(/../g)!.join(':');
}

/**
 * A pin is the most specific statement of trust, so it wins; a configured CA is preferred over
 * switching verification off.
 */
export function resolveTlsPolicy(settings: TlsSettings): TlsPolicy {
  if (settings.fingerprint) return { kind: 'pin', fingerprint: parseFingerprint(settings.fingerprint) };
  if (settings.caPem) return { kind: 'ca', caPem: settings.caPem };
  if (settings.insecure) return { kind: 'insecure' };
  return { kind: 'system' };
}

export class TlsPinMismatchError extends Error {
  readonly code = 'ERR_PROXMOX_FINGERPRINT_MISMATCH';
  constructor(target: TlsTarget) {
    super(`the certificate of ${formatTarget(target)} does not match the pinned fingerprint`);
    this.name = 'TlsPinMismatchError';
  }
}

class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function formatTarget(target: TlsTarget): string {
  const host = stripBrackets(target.host);
  return isIP(host) === 6 ? `[${host}]:${target.port}` : `${host}:${target.port}`;
}

/**
 * `proxmox_ca_file` adds to the system CAs (a cluster may mix its own CA with ACME certificates);
 * Node's `ca` option would replace them, so a context with both is built once per CA file.
 */
const caContexts = new Map<string, SecureContext>();
function contextWithCa(caPem: string): SecureContext {
  let context = caContexts.get(caPem);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, caPem] });
    caContexts.set(caPem, context);
  }
  return context;
}

function connectionOptions(policy: TlsPolicy, target: TlsTarget, address: string): ConnectionOptions {
  const host = stripBrackets(target.host);
  const base: ConnectionOptions = {
    host: address,
    port: target.port,
    // The certificate is checked against the name, whatever address it resolved to. SNI must not
    // carry IP addresses (RFC 6066); Node warns when it does.
    servername: isIP(host) ? undefined : host,
    ALPNProtocols: ['http/1.1'],
  };
  switch (policy.kind) {
    case 'system':
      return base;
    case 'ca':
      return { ...base, secureContext: contextWithCa(policy.caPem) };
    case 'pin':
    case 'insecure':
      // A pin replaces chain and host name checks; it is checked below before any byte is sent.
      return { ...base, rejectUnauthorized: false };
  }
}

/**
 * Opens a TLS connection under the policy and hands it over only once it is trusted, so no
 * request (and no credential in it) is ever written to an unverified peer. With `reads`, the
 * socket reads into a reused buffer (a console's stream).
 */
export async function connectTls(policy: TlsPolicy, target: TlsTarget, timeoutMs: number, hosts?: HostPolicy, reads?: UpstreamReads): Promise<TLSSocket> {
  const host = stripBrackets(target.host);
  // Resolved once, checked, and that address dialled: a second lookup could answer otherwise.
  const address = hosts ? await hosts.addressFor(host) : host;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ ...connectionOptions(policy, target, address), ...(reads ? { onread: reads.onread } : {}) });
    reads?.bind(socket);
    const timer = setTimeout(() => fail(new ConnectTimeoutError(`connecting to ${formatTarget(target)} timed out`)), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    }
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      if (policy.kind === 'pin') {
        const seen = socket.getPeerCertificate().fingerprint256;
        if (!seen || seen.toUpperCase() !== policy.fingerprint) {
          fail(new TlsPinMismatchError(target));
          return;
        }
      }
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** The `connect` option of an undici Agent that applies the policy. */
export function undiciConnector(policy: TlsPolicy, timeoutMs: number, hosts?: HostPolicy): buildConnector.connector {
  return (options, callback) => {
    const port = Number(options.port) || 443;
    connectTls(policy, { host: options.hostname, port }, timeoutMs, hosts).then(
      (socket) => callback(null, socket),
      (err: Error) => callback(err, null),
    );
  };
}

/**
 * The `createConnection` option of a `ws` client (Node's http callback form), applying the policy,
 * for a console's websocket: its reads go into a reused buffer (see UpstreamReads).
 * Returning nothing makes the request wait for the callback.
 */
export function wsCreateConnection(
  policy: TlsPolicy,
  target: TlsTarget,
  timeoutMs: number,
  hosts?: HostPolicy,
): (options: object, callback: (err: Error | null, socket?: Socket) => void) => undefined {
  return (_options, callback) => {
    connectTls(policy, target, timeoutMs, hosts, new UpstreamReads()).then(
      (socket) => callback(null, socket),
      (err: Error) => callback(err),
    );
    return undefined;
  };
}

const TLS_ERROR_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
]);

/** What OpenSSL says when the peer answered, but not with TLS (an HTTP or SSH port, say). */
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'EPROTO']);

/** Why a connection failed, for the gateway's own log only: the codes of the cause chain. */
export function networkErrorDetail(err: unknown): string {
  return errorCodes(err).join(' ') || (err instanceof Error ? err.message : String(err));
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  // undici and fetch wrap the socket error; look through the cause chain.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    if (e.name === 'TimeoutError') codes.push('ETIMEDOUT');
  }
  return codes;
}

/** Maps a connection-level failure (TCP, DNS, TLS, timeouts) to the control API's codes. */
export function networkErrorToProxmox(err: unknown, target: TlsTarget): ProxmoxError {
  if (err instanceof ProxmoxError) return err;
  const where = formatTarget(target);
  const codes = errorCodes(err);
  if (codes.includes('ERR_PROXMOX_FINGERPRINT_MISMATCH')) {
    return new ProxmoxError('tls_verification_failed', `The certificate of Proxmox at ${where} does not match the pinned fingerprint.`, { cause: err });
  }
  // A port that does not speak TLS answers like a closed one: the backend must not learn which
  // ports of a host are open from the difference (the gateway's log has the detail).
  const unreachable = () => new ProxmoxError('proxmox_unreachable', `Proxmox at ${where} could not be reached.`, { cause: err });
  if (codes.some((c) => NOT_TLS_CODES.has(c))) return unreachable();
  if (codes.some((c) => TLS_ERROR_CODES.has(c) || c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_'))) {
    return new ProxmoxError(
      'tls_verification_failed',
      `The certificate of Proxmox at ${where} could not be verified (${codes[0]}); configure proxmox_ca_file or pass its fingerprint.`,
      { cause: err },
    );
  }
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return new ProxmoxError('proxmox_timeout', `Proxmox at ${where} did not answer in time.`, { cause: err });
  }
  return unreachable();
}
