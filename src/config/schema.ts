import { isIP } from 'node:net';
import { z } from 'zod';
import { parseSecretKey } from '../redis/secret-box.js';

export const SECRET_ADVICE = 'make one with: openssl rand -hex 32';
const MIN_SECRET_LENGTH = 32;

/** How an environment variable's text becomes the field's value (the file holds typed JSON). */
export type EnvKind = 'string' | 'number' | 'boolean' | 'list' | 'boolean-or-list' | 'port-range' | 'json';

function field<S extends z.ZodType>(env: EnvKind, schema: S): { env: EnvKind; schema: S } {
  return { env, schema };
}

function integer(min: number, max: number, fallback: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(fallback);
}

/** Durations take fractions so tests can run in milliseconds; `zero` says whether 0 is meaningful. */
function seconds(zero: 'zero allowed' | 'positive', max: number, fallback: number) {
  const error = zero === 'zero allowed' ? `must be a number of seconds from 0 to ${max}` : `must be a number of seconds above 0, at most ${max}`;
  const base = z.number({ error }).max(max, { error });
  return (zero === 'zero allowed' ? base.min(0, { error }) : base.positive({ error })).default(fallback);
}

const bool = (fallback: boolean) => z.boolean({ error: 'must be true or false' }).default(fallback);

const path = z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' });

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}

export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

const hostOrAddress = z
  .string({ error: 'must be a host name or IP address' })
  .refine((v) => isIP(v) !== 0 || isHostName(v), { error: 'must be a host name or IP address' });

const addressOrCidr = z
  .string({ error: 'must be an IP address or CIDR range' })
  .refine((v) => isIP(v) !== 0 || isCidr(v), { error: 'must be an IP address or CIDR range (e.g. 10.0.0.0/8)' });

const hostOrCidr = z
  .string({ error: 'must be a host name, IP address or CIDR range' })
  .refine((v) => isIP(v) !== 0 || isCidr(v) || isHostName(v), { error: 'must be a host name, IP address or CIDR range' });

/**
 * `scheme://host[:port]` only: these values end up in URLs and response headers (CSP), so
 * anything beyond an origin is refused rather than passed through. Returns the normalised origin.
 */
function parseOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const isOriginOnly = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
  if (!isOriginOnly || !/^https?:$/.test(url.protocol) || value.includes('?') || value.includes('#')) return undefined;
  return `${url.protocol}//${url.host}`;
}

function originField(what: string) {
  const error = `must be ${what}`;
  return z.string({ error }).transform((value, ctx) => {
    const origin = parseOrigin(value);
    if (origin === undefined) {
      ctx.addIssue({ code: 'custom', message: error });
      return z.NEVER;
    }
    return origin;
  });
}

const origin = originField('an origin like https://panel.example.com (scheme, host and optional port only)');

/** CSP frame-ancestors sources: origins (a `*.` wildcard host allowed, as CSP does) or 'self'. */
const frameAncestor = z.string({ error: "must be an origin or 'self'" }).transform((value, ctx) => {
  if (value === 'self' || value === "'self'") return "'self'";
  const wildcard = /^(https?:\/\/)\*\.(.+)$/.exec(value);
  const parsed = parseOrigin(wildcard ? `${wildcard[1]}${wildcard[2]}` : value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: "must be an origin like https://panel.example.com, https://*.example.com or 'self'" });
    return z.NEVER;
  }
  return wildcard ? parsed.replace('://', '://*.') : parsed;
});

const list = <S extends z.ZodType>(item: S) => z.array(item, { error: 'must be a list' }).default([]);

const redisUrl = z.string({ error: 'must be a redis:// or rediss:// URL' }).refine(
  (value) => {
    try {
      return /^rediss?:$/.test(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  // The URL may hold a password: the message never repeats the value.
  { error: 'must be a redis:// or rediss:// URL' },
);

// The URL may hold credentials (user:password@, a token in its query): messages never repeat it.
const webhookUrl = z.string({ error: 'must be an http:// or https:// URL' }).refine(
  (value) => {
    try {
      return /^https?:$/.test(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL' },
);

const REDIS_KEY_ADVICE = 'make one with: openssl rand -hex 32';
// The value is never repeated in a message: it is a secret.
const secretKey = z
  .string({ error: `must be 32 random bytes in hex or base64; ${REDIS_KEY_ADVICE}` })
  .refine((value) => parseSecretKey(value) !== null, { error: `must be 32 random bytes in hex (64 digits) or base64; ${REDIS_KEY_ADVICE}` });

const port = (what: string) => {
  const error = `${what} must be a port number from 1 to 65535`;
  return z.number({ error }).int({ error }).min(1, { error }).max(65535, { error });
};

/** A colour the pages can put in a style sheet as it is: nothing but six hex digits. */
const colour = z.string({ error: 'must be a colour like #2f6fed' }).regex(/^#[0-9A-Fa-f]{6}$/, { error: 'must be a colour like #2f6fed' });

const brand = z.strictObject(
  {
    name: z
      .string({ error: 'must be the product name' })
      .min(1, { error: 'must not be empty' })
      .max(64, { error: 'must be at most 64 characters' })
      .refine((value) => ![...value].some((c) => c < ' ' || c === '\u007f'), { error: 'must not contain control characters' }),
    logo_file: path.optional(),
    accent: colour.optional(),
  },
  { error: 'must be an object like {"name": "My Cloud", "logo_file": "/etc/proxmoxvnc/logo.svg", "accent": "#2f6fed"}' },
);

export const CONFIG_FIELDS = {
  // The original program's fields.
  authorization: field(
    'string',
    z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? `required: set it in the config file or PROXMOXVNC_AUTHORIZATION (${SECRET_ADVICE})`
            : `must be a string; ${SECRET_ADVICE}`,
      })
      .min(MIN_SECRET_LENGTH, { error: `must be at least ${MIN_SECRET_LENGTH} characters; ${SECRET_ADVICE}` }),
  ),
  logging_enabled: field('boolean', bool(true)),
  logging_level: field(
    'string',
    z.preprocess(
      // The original wrote levels in upper case and accepted "warning".
      (value) => (typeof value === 'string' ? value.toLowerCase().replace(/^warning$/, 'warn') : value),
      z.enum(['debug', 'info', 'warn', 'error'], { error: 'must be one of debug, info, warn, error' }).default('info'),
    ),
  ),
  log_file: field('string', path.optional()),
  // Deployments of the original put host names here too: accepted, as the original did.
  public_ip: field('string', hostOrAddress.optional()),
  public_host: field('string', hostOrAddress.optional()),
  router_ip: field('string', hostOrAddress.default('0.0.0.0')),
  // 0 asks the system for a free port (tests and the demo use it).
  router_port: field('number', integer(0, 65535, 9999)),
  novnc_path: field('string', z.string({ error: 'must be a path' }).optional()),
  tls_cert_file: field('string', path.optional()),
  tls_key_file: field('string', path.optional()),

  // New in this gateway.
  public_url: field('string', originField('an absolute http(s) URL without path or query, like https://console.example.com').optional()),
  trust_proxy: field(
    'boolean-or-list',
    z.union([z.boolean(), z.array(addressOrCidr)], { error: 'must be true, false or a list of addresses or CIDR ranges' }).default(false),
  ),
  log_format: field('string', z.enum(['text', 'json'], { error: 'must be text or json' }).default('text')),
  token_ttl: field('number', seconds('positive', 3600, 300)),
  reconnect_grace: field('number', seconds('zero allowed', 86400, 300)),
  session_max_duration: field('number', seconds('positive', 604800, 43200)),
  idle_timeout: field('number', seconds('zero allowed', 604800, 0)),
  max_viewers_per_session: field('number', integer(1, 100, 2)),
  max_sessions: field('number', integer(1, 1_000_000, 10000)),
  max_pending_tokens: field('number', integer(1, 1_000_000, 10000)),
  proxmox_timeout: field('number', seconds('positive', 300, 10)),
  proxmox_ca_file: field('string', path.optional()),
  proxmox_tls_insecure: field('boolean', bool(false)),
  proxmox_hosts_allowed: field('list', list(hostOrCidr)),
  frame_ancestors: field('list', list(frameAncestor)),
  allowed_origins: field('list', list(origin)),
  redis_url: field('string', redisUrl.optional()),
  redis_ca_file: field('string', path.optional()),
  redis_key_prefix: field(
    'string',
    z
      .string({ error: 'must be a string' })
      .regex(/^[A-Za-z0-9:._-]{1,64}$/, { error: 'must be 1 to 64 letters, digits or : . _ -' })
      .default('proxmoxvnc:'),
  ),
  redis_secret_key: field('string', secretKey.optional()),
  redis_secret_key_previous: field('string', secretKey.optional()),
  redis_cluster: field('boolean', bool(false)),
  // Events to the backend (src/webhooks/): each needs the other, checked below.
  webhook_url: field('string', webhookUrl.optional()),
  webhook_secret: field(
    'string',
    // The value is never repeated in a message: it is a secret.
    z.string({ error: `must be a string; ${SECRET_ADVICE}` }).min(MIN_SECRET_LENGTH, { error: `must be at least ${MIN_SECRET_LENGTH} characters; ${SECRET_ADVICE}` }).optional(),
  ),
  webhook_timeout: field('number', seconds('positive', 120, 10)),
  webhook_retry_initial: field('number', seconds('positive', 3600, 1)),
  webhook_queue_max: field('number', integer(1, 10_000_000, 100_000)),
  rate_limit_auth_failures: field('number', integer(1, 1_000_000, 10)),
  control_allowed_from: field('list', list(addressOrCidr)),
  rate_limit_redemptions: field('number', integer(1, 1_000_000, 30)),
  drain_time: field('number', seconds('zero allowed', 3600, 10)),
  max_connections: field('number', integer(10, 1_000_000, 8000)),
  max_connections_per_address: field('number', integer(0, 1_000_000, 256)),
  clipboard_max_bytes: field('number', integer(0, 1024 * 1024, 64 * 1024)),
  browser_messages_per_second: field('number', integer(10, 1_000_000, 1000)),
  brand: field('json', brand.optional()),
  // Recordings of the sessions whose /create asked for `record`; without a folder nobody may ask.
  recording_dir: field('string', path.optional()),
  recording_max_bytes: field('number', integer(64 * 1024, 1024 ** 4, 1024 ** 3)),
  recording_retention: field(
    'number',
    z.number({ error: 'must be a number of days above 0, at most 36500' }).positive({ error: 'must be a number of days above 0, at most 36500' }).max(36500, { error: 'must be a number of days above 0, at most 36500' }).default(30),
  ),
  session_ports: field(
    'port-range',
    z
      .strictObject({ from: port('from'), to: port('to') }, { error: 'must be an object like {"from": 10000, "to": 10999}' })
      .refine((range) => range.from <= range.to, { error: 'from must not be above to' })
      .optional(),
  ),
};

export type ConfigField = keyof typeof CONFIG_FIELDS;
export const CONFIG_FIELD_NAMES = Object.keys(CONFIG_FIELDS) as ConfigField[];

export function isConfigField(name: string): name is ConfigField {
  return Object.hasOwn(CONFIG_FIELDS, name);
}

type ConfigShape = { [K in ConfigField]: (typeof CONFIG_FIELDS)[K]['schema'] };
const shape = Object.fromEntries(CONFIG_FIELD_NAMES.map((name) => [name, CONFIG_FIELDS[name].schema])) as ConfigShape;

export const configSchema = z
  .object(shape)
  .superRefine(
    (config, ctx) => {
      if ((config.tls_cert_file === undefined) !== (config.tls_key_file === undefined)) {
        const missing = config.tls_cert_file === undefined ? 'tls_cert_file' : 'tls_key_file';
        ctx.addIssue({ code: 'custom', path: [missing], message: 'tls_cert_file and tls_key_file go together: set both or neither' });
      }
    },
    // Reported together with problems in other fields: it reads only whether the two are present.
    { when: () => true },
  )
  .superRefine((config, ctx) => {
    if (config.redis_url === undefined) return;
    if (config.redis_secret_key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis_secret_key'], message: `required with redis_url (it encrypts the Proxmox credentials kept in Redis; every replica needs the same one); ${REDIS_KEY_ADVICE}` });
    }
    if (config.session_ports !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['session_ports'], message: 'cannot be used with redis_url: a session port belongs to one host, while with Redis any replica serves any session' });
    }
  })
  .superRefine((config, ctx) => {
    // Unsigned events could be forged by anyone who can reach the backend; a secret alone sends nothing.
    if (config.webhook_url !== undefined && config.webhook_secret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook_secret'], message: `required with webhook_url (it signs every event; the backend checks it); ${SECRET_ADVICE}` });
    }
    if (config.webhook_secret !== undefined && config.webhook_url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook_url'], message: 'required with webhook_secret (where events are sent)' });
    }
  })
  .superRefine((config, ctx) => {
    const range = config.session_ports;
    if (range && config.router_port >= range.from && config.router_port <= range.to) {
      ctx.addIssue({ code: 'custom', path: ['session_ports'], message: `must not include router_port (${config.router_port})` });
    }
  });

export type Config = z.output<typeof configSchema> & {
  /** The PEM text of proxmox_ca_file, read when the config was loaded. */
  proxmox_ca_pem: string | undefined;
  /** The PEM text of redis_ca_file. */
  redis_ca_pem: string | undefined;
};
