/**
 * An error answer. Proxmox puts the first line of the message in the HTTP reason phrase;
 * failures of pveproxy's own authentication step (`bare`) carry nothing else, errors raised by
 * a handler (a 401 among them) a JSON body.
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

/**
 * 401 from pveproxy's authentication step (no or bad ticket, token or CSRF token): the reason in
 * the status line and no body, since pve-http-server's AnyEvent.pm answers these with
 * `HTTP::Response->new(HTTP_UNAUTHORIZED, $err)` and no formatter.
 */
export function authFailure(reason: string): ApiError {
  return new ApiError(401, reason, { bare: true });
}

/**
 * 401 raised inside a handler (a wrong password at login, a bad vncticket): it goes through the
 * JSON formatter like any handler error, so it has a `{"data":null}` body.
 */
export function handlerAuthFailure(message: string): ApiError {
  return new ApiError(401, message);
}

export function permissionDenied(path: string, privilege: string): ApiError {
  return new ApiError(403, `Permission check failed (${path}, ${privilege})\n`);
}

export function unknownNode(node: string): ApiError {
  return new ApiError(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known\n`);
}
