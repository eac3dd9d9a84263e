/** The peer sent bytes that break the RFB protocol, or too many of them. */
export class RfbProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RfbProtocolError';
  }
}

/** The stream ended (or failed) while a handshake still waited for bytes. */
export class RfbStreamClosedError extends Error {
  constructor(message = 'the connection closed during the RFB handshake') {
    super(message);
    this.name = 'RfbStreamClosedError';
  }
}

/** The RFB server refused the VNC password; `reason` is the server's own text. */
export class RfbAuthFailedError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`VNC authentication failed${reason ? `: ${reason}` : ''}`);
    this.name = 'RfbAuthFailedError';
    this.reason = reason;
  }
}
