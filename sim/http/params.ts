import { ApiError } from './errors.js';

/** A parameter in Proxmox's JSON-schema style; messages below are the ones PVE::JSONSchema gives. */
export type ParamSpec =
  | { type: 'string'; optional?: boolean; pattern?: RegExp; format?: string; maxLength?: number }
  | { type: 'integer'; optional?: boolean; minimum?: number; maximum?: number; format?: 'pve-vmid' }
  | { type: 'boolean'; optional?: boolean }
  | { type: 'enum'; values: string[]; optional?: boolean };

export type ParamValue = string | number | boolean;

export const vmidParam: ParamSpec = { type: 'integer', format: 'pve-vmid' };
export const nodeParam: ParamSpec = { type: 'string', format: 'pve-node', pattern: /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/ };

function checkOne(spec: ParamSpec, raw: string): { value: ParamValue } | { error: string } {
  switch (spec.type) {
    case 'string':
      if (spec.maxLength !== undefined && raw.length > spec.maxLength) return { error: `value may only be ${spec.maxLength} characters long` };
      if (spec.pattern && !spec.pattern.test(raw)) {
        return { error: spec.format === 'pve-node' ? 'value does not look like a valid node name' : `value does not match the regex pattern` };
      }
      return { value: raw };
    case 'integer': {
      if (!/^[+-]?\d+$/.test(raw)) return { error: `type check ('integer') failed - got '${raw}'` };
      const n = Number(raw);
      if (spec.format === 'pve-vmid' && (n < 100 || n > 999_999_999)) return { error: 'value does not look like a valid VM ID' };
      if (spec.minimum !== undefined && n < spec.minimum) return { error: `value must have a minimum value of ${spec.minimum}` };
      if (spec.maximum !== undefined && n > spec.maximum) return { error: `value must have a maximum value of ${spec.maximum}` };
      return { value: n };
    }
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(lower)) return { value: false };
      return { error: `type check ('boolean') failed - got '${raw}'` };
    }
    case 'enum':
      return spec.values.includes(raw) ? { value: raw } : { error: `value '${raw}' does not have a value in the enumeration '${spec.values.join(', ')}'` };
  }
}

/** Checks every parameter at once; a failure is a 400 whose `errors` names each bad one. */
export function verifyParams(specs: Record<string, ParamSpec>, raw: Record<string, string>): Record<string, ParamValue> {
  const errors: Record<string, string> = {};
  const out: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw[name];
    if (given === undefined) {
      if (!spec.optional) errors[name] = 'property is missing and it is not optional';
      continue;
    }
    const checked = checkOne(spec, given);
    if ('error' in checked) errors[name] = checked.error;
    else out[name] = checked.value;
  }
  for (const name of Object.keys(raw)) {
    if (!(name in specs)) errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
  }
  if (Object.keys(errors).length > 0) throw new ApiError(400, 'Parameter verification failed.\n', { errors });
  return out;
}
