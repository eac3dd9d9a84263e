import type { FastifyError } from 'fastify';

/** An answer of the control API that is not a success: `{"status":"error","error":code,...}`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      status: 'error',
      error: this.code,
      message: this.message,
      ...(this.fields ? { fields: this.fields } : {}),
    };
  }
}

export function invalidParams(fields: Record<string, string>): ApiError {
  const names = Object.keys(fields).join(', ');
  return new ApiError(400, 'invalid_params', `invalid or missing parameters: ${names}`, fields);
}

/** Maps the framework's own refusals (size, media type, malformed body) to the API's error shape. */
export function frameworkError(error: FastifyError): ApiError | null {
  const status = error.statusCode ?? 500;
  if (status === 413) return new ApiError(413, 'payload_too_large', 'the request body is larger than 64 KiB');
  if (status === 415) return new ApiError(415, 'unsupported_media_type', 'send multipart/form-data, application/x-www-form-urlencoded or application/json');
  if (status >= 400 && status < 500) return new ApiError(status, 'invalid_request', error.message);
  return null;
}
