import type { FastifyRequest } from 'fastify';
import { ApiError, invalidParams } from './errors.js';

/** Size cap for the control API's bodies (DESIGN.md: 413 above 64 KiB). */
export const CONTROL_BODY_LIMIT = 64 * 1024;

function parseParamsJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidParams({ params: 'must be a JSON object' });
  }
}

async function readMultipartFields(request: FastifyRequest): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') throw new ApiError(400, 'invalid_params', 'file uploads are not accepted', { [part.fieldname]: 'must be a plain field' });
      if (part.valueTruncated) throw new ApiError(413, 'payload_too_large', `the ${part.fieldname} field is larger than 64 KiB`);
      fields[part.fieldname] = part.value;
    }
  } catch (err) {
    // busboy's parse errors ("Unexpected end of multipart data", ...) carry no HTTP status.
    if (err instanceof ApiError || (err as { statusCode?: number }).statusCode !== undefined) throw err;
    throw new ApiError(400, 'invalid_request', `malformed multipart body: ${(err as Error).message}`);
  }
  return fields;
}

/**
 * The params object of a `/create` request, from any of its three forms: multipart with a
 * `params` JSON field (the original contract), urlencoded with `params`, or a JSON body. Forms
 * without `params` are read field by field, so `curl -F vmid=100 ...` works too.
 */
export async function readCreateBody(request: FastifyRequest): Promise<unknown> {
  let fields: Record<string, unknown>;
  if (request.isMultipart()) {
    fields = await readMultipartFields(request);
  } else if (typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body)) {
    fields = request.body as Record<string, unknown>;
    if (request.headers['content-type']?.startsWith('application/json')) return fields;
  } else if (request.body === undefined) {
    throw new ApiError(400, 'invalid_params', 'the request has no body', { params: 'is required' });
  } else {
    return request.body;
  }
  const params = fields.params;
  if (params === undefined) return fields;
  if (typeof params !== 'string') throw invalidParams({ params: 'must be a JSON object' });
  // Beside `params` a field would be read by nobody: the backend believes it set something.
  const beside = Object.keys(fields).filter((name) => name !== 'params');
  if (beside.length > 0) throw invalidParams(Object.fromEntries(beside.map((name) => [name.slice(0, 64), 'is not read beside params; put it inside params'])));
  return parseParamsJson(params);
}
