/**
 * An error answer. Proxmox puts the first line of the message in the HTTP reason phrase;
 * authentication failures (`bare`) carry nothing else, the others a JSON body.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { errors?: Record<string, string>; bare?: boolean } = {},
  ) {
    super(message);
  }
}

/** 401 with the reason in the status line and no body. */
export function authFailure(reason: string): ApiError {
  return new ApiError(401, reason, { bare: true });
}

export function permissionDenied(path: string, privilege: string): ApiError {
  return new ApiError(403, `Permission check failed (${path}, ${privilege})\n`);
}

export function unknownNode(node: string): ApiError {
  return new ApiError(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known\n`);
}
