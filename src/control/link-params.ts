import { z } from 'zod';
import { boolean, integer, unknownParams } from './create-params.js';
import { invalidParams, type ApiError } from './errors.js';

/** A shared link as the backend asks for it (POST /sessions/<id>/links). */
export interface LinkParams {
  /** Absent: view-only, the least a link handed to a third person may do. */
  viewOnly: boolean;
  ttlSeconds?: number;
}

const ROUTE = '/sessions/<id>/links';

/** The validator of a shared link's params, as strict as /create's: unknown names are refused by name. Built once. */
export function linkParamsParser(limits: { maxTokenTtlSeconds: number }): (raw: unknown) => LinkParams | ApiError {
  const schema = z.object({
    view_only: boolean.default(true),
    ttl: integer(1, limits.maxTokenTtlSeconds).optional(),
  });
  return (raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalidParams({ params: 'must be a JSON object' });
    const given = raw as Record<string, unknown>;
    const fields = unknownParams(given, Object.keys(schema.shape), ROUTE);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'params')] ??= issue.message;
    if (!parsed.success || Object.keys(fields).length > 0) return invalidParams(fields);
    return { viewOnly: parsed.data.view_only, ...(parsed.data.ttl !== undefined ? { ttlSeconds: parsed.data.ttl } : {}) };
  };
}
