/** Seconds a client is told to wait (Retry-After) when the gateway cannot answer now. */
export const RETRY_AFTER_SECONDS = '5';

/** The shared store (Redis) cannot be reached: the request may be tried again shortly. */
export class StoreUnavailableError extends Error {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`the shared store (Redis) cannot be reached while ${what}`, options);
    this.name = 'StoreUnavailableError';
  }
}

// What ioredis says when a command cannot reach a server; anything else (a script error, a bug)
// is not an outage and passes through unchanged.
const CONNECTION_FAILURES = [
  /Stream isn't writeable/i,
  /Connection is closed/i,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND/,
  /Reached the max retries per request limit/i,
  /Failed to refresh slots cache|None of startup nodes is available|CLUSTERDOWN|TRYAGAIN/i,
  /Command timed out|connect ETIMEDOUT/i,
];

function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true;
  return CONNECTION_FAILURES.some((pattern) => pattern.test(error.message));
}

/** Runs a store operation; an outage surfaces as StoreUnavailableError, naming what was being done. */
export async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError || !isConnectionFailure(error)) throw error;
    throw new StoreUnavailableError(what, { cause: error });
  }
}
