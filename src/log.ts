import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger tagged with a component ('ROUTER', 'CONTROL', ...); `session` marks every line. */
  child(component: string, bindings?: { session?: string }): Logger;
}

export interface LogOptions {
  enabled: boolean;
  level: LogLevel;
  format: 'text' | 'json';
  /** Appended to; stdout when absent. */
  file?: string;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A token as it may appear in logs: never the whole token (security invariant 2). */
export function tokenPrefix(token: string): string {
  return `${token.slice(0, Math.min(6, Math.floor(token.length / 2)))}…`;
}

const REDACTED = '[redacted]';

// Compared against the key lower-cased without '-' and '_', as a suffix: that also covers
// CSRFPreventionToken, api_token, vncticket, vncPassword, PVEAuthCookie, set-cookie, proxmox_password.
// `token_prefix`, `pending_tokens` or `token_ttl` do not end in a secret name and stay readable.
const SECRET_KEY_SUFFIXES = ['password', 'passwd', 'secret', 'ticket', 'csrf', 'cookie', 'cookies', 'authorization', 'token'];

function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

// Characters that end a secret embedded in text: whitespace, quotes, and cookie/query separators.
const END = `[^\\s;,&"'<>]+`;
// Log lines carry untrusted text (an Origin, a URL, a Proxmox error), so every pattern here must
// cost time linear in its input: each one starts at a literal or at a delimiter, and no two of its
// quantifiers can claim the same characters (test/unit/log-scrub-cost.test.ts holds them to that).
const SECRET_VALUE_PATTERNS: Array<[RegExp, string]> = [
  // Cookie header or Set-Cookie value holding a Proxmox ticket, escaped or not.
  [new RegExp(`PVEAuthCookie=${END}`, 'g'), `PVEAuthCookie=${REDACTED}`],
  // Authorization header of an API token: the whole value goes, token id included.
  [/PVEAPIToken[=\s]\S+/g, `PVEAPIToken=${REDACTED}`],
  // A bare API token (`user@realm!tokenid=secret`): the id helps debugging, the secret goes. It is
  // only tried where a user name can begin (after a delimiter), and a token id has Proxmox's
  // character set, so a long run of text without the shape is read once, not once per position.
  // Whatever ends a secret also begins a user name: in `a@pve!x=S1,b@pve!y=S2` the second token
  // starts right where the first one's secret ended.
  [/(?<![^\s=!@"',;&<>])([^\s=!@"',;&<>]+@[^\s=!@"',;&<>]+![A-Za-z0-9._-]+)=[^\s,;&"'<>]+/g, `$1=${REDACTED}`],
  // PVE and PVEVNC tickets, raw or URL-escaped. A current vncproxy ticket starts with the
  // 8-character VNC password (0x21-0x60) and a colon: that prefix is a secret too. In the escaped
  // form a '%' always starts an escape, so each of the 8 characters can be read only one way.
  [new RegExp(`(?:[!-\`]{8}:|(?:%[0-9A-Fa-f]{2}|[!-$&-\`]){8}%3A)?PVE(?:VNC)?(?::|%3A)${END}`, 'g'), REDACTED],
  // CSRFPreventionToken: 8 hex digits, a colon, a base64 HMAC (43 characters; 27 on old releases).
  [/\b[0-9A-Fa-f]{8}:[A-Za-z0-9+/]{27,}={0,2}/g, REDACTED],
];

/** Secrets taken out of free text. Exported for the cost test: it must stay linear in the input. */
export function scrubSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of SECRET_VALUE_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** Longest string field of a log line, and longest message; the rest is summarised by its length. */
export const MAX_FIELD_CHARS = 512;
const MAX_MESSAGE_CHARS = 2048;
/**
 * A secret that straddles the cut must still be recognised whole, so the text is scrubbed with
 * this much beyond the cut: a bounded cost, whatever the untrusted input's length.
 */
const SCRUB_MARGIN = 2048;
/**
 * The most text a pattern needs before it recognises a secret: an escaped VNC password and
 * `%3APVEVNC%3A`, a CSRF token's first 36 characters. Where the scrubbed margin ends, that much may
 * be the start of a secret its pattern never saw whole, and redactions before it (of tickets, say)
 * can have pulled it below the cut: it is dropped.
 */
const CUT_SECRET_CHARS = 64;

function scrub(text: string, max = MAX_FIELD_CHARS): string {
  if (text.length <= max) return scrubSecrets(text);
  const scrubbed = text.slice(0, max + SCRUB_MARGIN);
  let clean = scrubSecrets(scrubbed);
  if (scrubbed.length < text.length) clean = clean.slice(0, Math.max(0, clean.length - CUT_SECRET_CHARS));
  return `${clean.slice(0, max)}…(${text.length} chars)`;
}

function sanitize(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrub(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  // Errors serialise to `{}`; their message is what a reader needs (stack and causes at debug).
  if (value instanceof Error) return scrub(`${value.name}: ${value.message}`);
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => sanitize(item, seen));
  const out: LogFields = {};
  for (const [key, item] of Object.entries(value)) out[key] = isSecretKey(key) ? REDACTED : sanitize(item, seen);
  return out;
}

// Keys pino or the text format own: a field with such a name is renamed rather than lost.
const RESERVED_KEYS = new Set(['level', 'time', 'msg', 'component', 'session']);

/** A stack is long but bounded; a cause chain is followed this deep. */
const MAX_STACK_CHARS = 4096;
const MAX_CAUSES = 5;

/**
 * What debugging an error needs beyond its message: where it was thrown and what caused it
 * (undici, ws and the stores wrap the socket error that says what really happened).
 */
function errorDetail(key: string, error: Error): LogFields {
  const causes: string[] = [];
  for (let cause = error.cause, depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    causes.push(scrub(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return {
    ...(error.stack ? { [`${key}_stack`]: scrub(error.stack, MAX_STACK_CHARS) } : {}),
    ...(causes.length > 0 ? { [`${key}_causes`]: causes } : {}),
  };
}

/** `detail`: errors also bring their stack and causes (debug level). */
function sanitizeFields(fields: LogFields, detail: boolean): LogFields {
  const clean = sanitize(fields, new WeakSet()) as LogFields;
  const out: LogFields = {};
  for (const [key, value] of Object.entries(clean)) {
    const name = RESERVED_KEYS.has(key) ? `field_${key}` : key;
    out[name] = value;
    const original = fields[key];
    if (detail && original instanceof Error) Object.assign(out, errorDetail(name, original));
  }
  return out;
}

interface Bindings {
  component?: string;
  session?: string;
}

class ComponentLogger implements Logger {
  constructor(
    private readonly root: PinoLogger,
    private readonly bound: PinoLogger,
    private readonly bindings: Bindings,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  child(component: string, bindings?: { session?: string }): Logger {
    const merged: Bindings = { component, session: bindings?.session ?? this.bindings.session };
    if (merged.session === undefined) delete merged.session;
    // Children are made from the root so a component tag replaces, not repeats, the parent's.
    return new ComponentLogger(this.root, this.root.child(merged), merged);
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    // Disabled levels return before any scrubbing or allocation.
    if (!this.bound.isLevelEnabled(level)) return;
    const message = scrub(msg, MAX_MESSAGE_CHARS);
    if (fields === undefined) this.bound[level](message);
    else this.bound[level](sanitizeFields(fields, this.bound.isLevelEnabled('debug')), message);
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `2025/08/16 13:08:45` in local time, as Go's log.Ldate|log.Ltime. */
function goTimestamp(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}/${pad2(d.getMonth() + 1)}/${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Renders one of pino's JSON lines as the original program's text line. */
function textLine(json: string): string {
  const { time, level, component, session, msg, ...fields } = JSON.parse(json) as LogFields;
  let line = `${goTimestamp(time as number)} `;
  if (component !== undefined) line += `[${String(component)}] `;
  line += `[${String(level).toUpperCase()}] ${String(msg ?? '')}`;
  if (session !== undefined) line += ` session=${textValue(session)}`;
  for (const [key, value] of Object.entries(fields)) line += ` ${key}=${textValue(value)}`;
  return `${line}\n`;
}

type Sink = { write(chunk: string): unknown };

function openSink(opts: LogOptions, destination: NodeJS.WritableStream | undefined): Sink {
  if (destination) return destination;
  // Synchronous writes: a line is on disk before the process can die, and opening fails here,
  // at start, when the file cannot be written.
  return pino.destination({ dest: opts.file ?? 1, append: true, mkdir: opts.file !== undefined, sync: true });
}

export function createLogger(opts: LogOptions, destination?: NodeJS.WritableStream): Logger {
  if (!opts.enabled) return silentLogger;
  const sink = openSink(opts, destination);
  const text = opts.format === 'text';
  const stream: DestinationStream = text ? { write: (line: string) => sink.write(textLine(line)) } : (sink as DestinationStream);
  const root = pino(
    {
      level: opts.level,
      base: null,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: text ? pino.stdTimeFunctions.epochTime : pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  return new ComponentLogger(root, root, {});
}
