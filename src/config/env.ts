import { CONFIG_FIELDS, CONFIG_FIELD_NAMES, isConfigField, type ConfigField, type EnvKind } from './schema.js';
import { closestName } from './suggest.js';

export const ENV_PREFIX = 'PROXMOXVNC_';

export function envVarName(field: ConfigField): string {
  return ENV_PREFIX + field.toUpperCase();
}

const TRUE = new Set(['true', '1']);
const FALSE = new Set(['false', '0']);

function toBoolean(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  return undefined;
}

function toList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Text that does not convert is passed on unchanged, so the schema reports it with the same
 * message as a wrong value in the file.
 */
function convert(kind: EnvKind, text: string): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'number':
      return /^\s*-?(\d+\.?\d*|\.\d+)\s*$/.test(text) ? Number(text) : text;
    case 'boolean':
      return toBoolean(text) ?? text;
    case 'list':
      return toList(text);
    case 'boolean-or-list':
      return toBoolean(text) ?? toList(text);
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    case 'port-range': {
      const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
      if (range) return { from: Number(range[1]), to: Number(range[2]) };
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
  }
}

export interface EnvironmentValues {
  values: Partial<Record<ConfigField, unknown>>;
  /** The variable each value came from, for messages. */
  sources: Partial<Record<ConfigField, string>>;
  warnings: string[];
}

/** Config values from `PROXMOXVNC_<FIELD>` variables; empty variables count as unset. */
export function readEnvironment(env: NodeJS.ProcessEnv): EnvironmentValues {
  const result: EnvironmentValues = { values: {}, sources: {}, warnings: [] };
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined || text === '') continue;
    const field = name.slice(ENV_PREFIX.length).toLowerCase();
    if (!isConfigField(field)) {
      const suggestion = closestName(field, CONFIG_FIELD_NAMES);
      const hint = suggestion ? `; did you mean ${envVarName(suggestion)}?` : '';
      result.warnings.push(`unknown environment variable ${name} (ignored)${hint}`);
      continue;
    }
    result.values[field] = convert(CONFIG_FIELDS[field].env, text);
    result.sources[field] = name;
  }
  return result;
}
