import { isIP } from 'node:net';
import { z } from 'zod';
import { isHostName } from '../config/schema.js';
import { closestName } from '../config/suggest.js';
import { LANGUAGES } from '../console/i18n/index.js';
import type { GrantRequest } from '../sessions/grant.js';
import { invalidParams, type ApiError } from './errors.js';
import type { PowerAction } from '../proxmox/client.js';

/** What `power` may list (status/<action> routes; containers have no reset, which Proxmox then refuses). */
export const POWER_ACTIONS: [PowerAction, ...PowerAction[]] = ['start', 'shutdown', 'reboot', 'stop', 'reset', 'suspend', 'resume'];

/** The original program sent every value as a string: numbers and booleans may come either way. */
export function integer(min: number, max: number) {
  return z
    .union([z.number(), z.string().trim().regex(/^\d{1,12}$/, 'must be a whole number')])
    .transform(Number)
    .pipe(z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
export const boolean = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((value, ctx) => {
    const word = String(value).trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const USER = /^[^\s@:!/]{1,64}(?:@[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;
const API_TOKEN = /^(?:PVEAPIToken=)?([^\s@:!/]{1,64}@[A-Za-z0-9][A-Za-z0-9._-]{0,63}![A-Za-z][A-Za-z0-9._-]{0,63})=([A-Za-z0-9-]{1,128})$/;
const FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

const hostname = z
  .string()
  .trim()
  .transform((host) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host))
  .refine((host) => isIP(host) !== 0 || isHostName(host), 'must be a host name or an IP address');

const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    // Control characters in a title would end up in the page and in ServerInit.
    .refine((value) => ![...value].some((c) => c < ' ' || c === '\u007f'), 'must not contain control characters');

/** The backend's label for a link (`tag`): enough for its own ids, bounded for the stores and events. */
export const MAX_TAG_CHARS = 256;

function paramsSchema(limits: CreateLimits) {
  return z.object({
    hostname,
    port: integer(1, 65535).default(8006),
    vmid: integer(100, 999_999_999),
    node: z.string().trim().regex(NODE_NAME, 'must be a node name (letters, digits, hyphens)').optional(),
    username: z.string().trim().regex(USER, 'must be user@realm').optional(),
    password: z.string().min(1, 'must not be empty').max(1024, 'is too long').optional(),
    api_token: z.string().trim().regex(API_TOKEN, 'must be user@realm!tokenid=secret').optional(),
    type: z.enum(['qemu', 'lxc'], 'must be qemu or lxc').optional(),
    console: z.enum(['novnc', 'xterm'], 'must be novnc or xterm').default('novnc'),
    serial: z.string().regex(/^serial[0-3]$/, 'must be serial0 to serial3').optional(),
    fingerprint: z.string().trim().regex(FINGERPRINT, 'must be a SHA-256 fingerprint (64 hex digits, colons allowed)').optional(),
    ttl: integer(1, limits.maxTokenTtlSeconds).optional(),
    max_duration: integer(1, limits.maxSessionSeconds).optional(),
    view_only: boolean.default(false),
    title: text(128).optional(),
    validate: boolean.default(true),
    power: z
      .union([z.array(z.string()), z.string().transform((list) => list.split(',').map((a) => a.trim()).filter(Boolean))])
      .pipe(z.array(z.enum(POWER_ACTIONS, `must list actions out of ${POWER_ACTIONS.join(', ')}`)))
      .transform((actions) => [...new Set(actions)])
      .optional(),
    lang: z
      .string()
      .trim()
      .transform((tag) => tag.toLowerCase().split(/[-_]/)[0] ?? '')
      .pipe(z.enum(LANGUAGES as [string, ...string[]], `must be one of ${LANGUAGES.join(', ')} (a tag such as de-CH counts as de)`))
      .optional(),
    // Opaque to the gateway: only its length is bounded, it is handed back as it came.
    tag: z.string('must be a string').max(MAX_TAG_CHARS, `must be at most ${MAX_TAG_CHARS} characters`).optional(),
    record: boolean.default(false),
  });
}

export interface CreateLimits {
  maxTokenTtlSeconds: number;
  maxSessionSeconds: number;
  /** Whether `recording_dir` is set: without it `record` is refused. */
  recordingAvailable?: boolean;
}

/** The console request as validated; `ttlSeconds` is the link's, the rest the grant's. */
export interface CreateParams extends GrantRequest {
  ttlSeconds?: number;
}

/**
 * The validator of the backend's params under these limits; it reports every problem at once, by
 * field name. Built once: compiling a zod schema costs far more than running it.
 */
export function createParamsParser(limits: CreateLimits): (raw: unknown) => CreateParams | ApiError {
  const schema = paramsSchema(limits);
  return (raw) => parseCreateParams(schema, raw, limits);
}

/** Longer names are neither echoed whole nor compared for a suggestion (the distance is quadratic). */
const MAX_NAME_SHOWN = 64;

/**
 * A parameter nobody reads must not pass in silence: a backend that sends `view_onyl: true`
 * would hand out full control believing it gave a view-only link.
 */
export function unknownParams(given: Record<string, unknown>, known: readonly string[], route = '/create'): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    const shown = name.length > MAX_NAME_SHOWN ? `${name.slice(0, MAX_NAME_SHOWN)}…` : name;
    const suggestion = name.length > MAX_NAME_SHOWN ? undefined : closestName(name, known);
    fields[shown] = `is not a parameter of ${route}${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
  }
  return fields;
}

function parseCreateParams(schema: ReturnType<typeof paramsSchema>, raw: unknown, limits: CreateLimits): CreateParams | ApiError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return invalidParams({ params: 'must be a JSON object' });
  }
  const given = raw as Record<string, unknown>;
  const parsed = schema.safeParse(raw);
  const fields: Record<string, string> = unknownParams(given, Object.keys(schema.shape));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'params');
      fields[name] ??= given[name] === undefined ? 'is required' : issue.message;
    }
  }
  // Which credentials were given is judged on the raw input, so their problems are listed
  // together with every other field's.
  const hasToken = given.api_token !== undefined;
  if (hasToken && (given.username !== undefined || given.password !== undefined)) {
    fields.api_token ??= 'give either api_token or username and password, not both';
  } else if (!hasToken) {
    if (given.username === undefined) fields.username ??= 'is required (or give api_token)';
    if (given.password === undefined) fields.password ??= 'is required (or give api_token)';
  }
  if (!parsed.success || Object.keys(fields).length > 0) return invalidParams(fields);
  const p = parsed.data;
  let credentials: GrantRequest['credentials'];
  if (p.api_token !== undefined) {
    const [, tokenId, secret] = API_TOKEN.exec(p.api_token) as RegExpExecArray;
    credentials = { kind: 'apiToken', tokenId: tokenId as string, secret: secret as string };
  } else {
    // The original program assumed the pve realm when none was given.
    const username = (p.username as string).includes('@') ? (p.username as string) : `${p.username}@pve`;
    credentials = { kind: 'password', username, password: p.password as string };
  }
  if (p.serial !== undefined && p.console !== 'xterm') return invalidParams({ serial: 'only applies to console "xterm"' });
  if (p.power?.length && p.view_only) return invalidParams({ power: 'cannot be given to a view_only link' });
  if (p.record && !limits.recordingAvailable) return invalidParams({ record: 'needs recording_dir in the gateway configuration, which is not set' });
  return {
    hostname: p.hostname,
    port: p.port,
    vmid: p.vmid,
    node: p.node,
    type: p.type,
    console: p.console,
    serial: p.serial,
    fingerprint: p.fingerprint,
    credentials,
    ttlSeconds: p.ttl,
    maxDurationSeconds: p.max_duration,
    viewOnly: p.view_only,
    title: p.title,
    validate: p.validate,
    lang: p.lang,
    ...(p.power?.length ? { power: p.power } : {}),
    ...(p.tag !== undefined ? { tag: p.tag } : {}),
    ...(p.record ? { record: true } : {}),
  };
}
