// websockify (Debian's package, Python) in front of a console server's unix socket: the reference
// a general-purpose websocket-to-TCP relay sets for throughput and round trips.
import { freePort } from '../test/helpers/gateway.js';
import { findExecutable } from '../test/helpers/system.js';
import { startListeningProgram, type ExternalRelay } from './external-process.js';

export interface Websockify extends ExternalRelay {
  url: string;
}

/** Null (and a line saying how to install it) when websockify is not installed. */
export async function startWebsockify(host: string, unixTarget: string): Promise<Websockify | null> {
  const executable = findExecutable('websockify');
  if (!executable) return null;
  const port = await freePort(host);
  const program = await startListeningProgram('websockify', executable, [`--unix-target=${unixTarget}`, `${host}:${port}`], host, port);
  return { ...program, url: `ws://${host}:${port}/` };
}
