import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { readEnvironment } from './env.js';
import { publicOrigin, publicOriginIsGuessed } from './public-origin.js';
import { CONFIG_FIELD_NAMES, configSchema, isConfigField, type Config, type ConfigField } from './schema.js';
import { closestName } from './suggest.js';

export interface LoadConfigInput {
  /** Path of the JSON config file; optional when the environment supplies what is required. */
  file?: string;
  env: NodeJS.ProcessEnv;
  flags: { port?: number };
}

export type LoadConfigResult = { config: Config; warnings: string[] } | { problems: string[] };

type RawValues = Partial<Record<ConfigField, unknown>>;
type Sources = Partial<Record<ConfigField, string>>;

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? String(error);
  }
}

/** Line and column (1-based) of a character offset, for an editor. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/**
 * V8's JSON errors may quote the text around the mistake, which can be the secret: only its
 * reason and position are kept.
 */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message);
  const reason = message
    .replace(/, (?:\.\.\.)?".*is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
  return position ? `${reason} at ${lineAndColumn(text, Number(position[1]))}` : reason;
}

type FileRead = { values: Record<string, unknown> } | { problem: string };

function readConfigFile(file: string): FileRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { problem: `config file ${file}: cannot read it (${describeFsError(error)})` };
  }
  text = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `config file ${file}: invalid JSON: ${describeJsonError(error, text)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: `config file ${file}: must hold a JSON object ({"authorization": ...})` };
  }
  return { values: parsed as Record<string, unknown> };
}

function unknownFieldWarning(file: string, name: string): string {
  const suggestion = closestName(name, CONFIG_FIELD_NAMES);
  return `unknown field "${name}" in ${file} (ignored)${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`)).join('');
}

function describeIssue(issue: z.core.$ZodIssue, sources: Sources): string {
  const top = issue.path[0];
  const source = typeof top === 'string' && isConfigField(top) ? sources[top] : undefined;
  return `${issuePath(issue.path)}: ${issue.message}${source ? ` (from ${source})` : ''}`;
}

function readPem(field: ConfigField, path: string, problems: string[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${field}: cannot read ${path} (${describeFsError(error)})`);
    return undefined;
  }
  if (!text.includes('-----BEGIN ')) {
    problems.push(`${field}: ${path} holds no PEM data`);
    return undefined;
  }
  return text;
}

/** Files named by the config must be readable PEM now, not at the first request that needs them. */
function checkFiles(values: RawValues, problems: string[]): { proxmox_ca_pem?: string; redis_ca_pem?: string } {
  const pems: { proxmox_ca_pem?: string; redis_ca_pem?: string } = {};
  for (const field of ['proxmox_ca_file', 'redis_ca_file', 'tls_cert_file', 'tls_key_file'] as const) {
    const path = values[field];
    if (typeof path !== 'string' || path === '') continue;
    const pem = readPem(field, path, problems);
    if (field === 'proxmox_ca_file') pems.proxmox_ca_pem = pem;
    if (field === 'redis_ca_file') pems.redis_ca_pem = pem;
  }
  return pems;
}

function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.novnc_path !== undefined) {
    warnings.push('novnc_path is not used (ignored): the console page is built into the gateway');
  }
  // Accepted so configs written for a later version load, but an operator must not believe it on.
  if (config.proxmox_tls_insecure) {
    warnings.push('proxmox_tls_insecure is on: TLS certificates of Proxmox hosts are NOT verified');
  }
  if (config.proxmox_hosts_allowed.length === 0) {
    warnings.push('proxmox_hosts_allowed is empty: the backend may point the gateway at any host and port (list your Proxmox hosts or their CIDR ranges)');
  }
  if (publicOriginIsGuessed(config)) {
    warnings.push(`no public_url, public_host or public_ip: console URLs will use ${publicOrigin(config)}`);
  }
  return warnings;
}

/** Precedence: command-line flag, then environment, then file, then default. */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const values: RawValues = {};
  const sources: Sources = {};
  const warnings: string[] = [];

  if (input.file !== undefined) {
    const read = readConfigFile(input.file);
    if ('problem' in read) return { problems: [read.problem] };
    for (const [name, value] of Object.entries(read.values)) {
      if (isConfigField(name)) values[name] = value;
      else warnings.push(unknownFieldWarning(input.file, name));
    }
  }

  const environment = readEnvironment(input.env);
  Object.assign(values, environment.values);
  Object.assign(sources, environment.sources);
  warnings.push(...environment.warnings);

  if (input.flags.port !== undefined) {
    values.router_port = input.flags.port;
    sources.router_port = 'the -port flag';
  }

  const parsed = configSchema.safeParse(values);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => describeIssue(issue, sources));
  const pems = checkFiles(values, problems);
  if (!parsed.success || problems.length > 0) return { problems };

  const config: Config = { ...parsed.data, proxmox_ca_pem: pems.proxmox_ca_pem, redis_ca_pem: pems.redis_ca_pem };
  return { config, warnings: [...warnings, ...configWarnings(config)] };
}
