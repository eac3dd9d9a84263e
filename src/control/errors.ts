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
