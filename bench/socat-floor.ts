// The cost floor of any relay that speaks TLS toward Proxmox: socat (C, OpenSSL) decrypting the
// simulator's TLS and forwarding its websocket bytes verbatim over plain TCP, with the buffer size
// an operator would pick for bulk traffic. The client speaks the websocket upgrade itself, through it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/gateway.js';
import { findExecutable } from '../test/helpers/system.js';
import { startListeningProgram, type ExternalRelay } from './external-process.js';

export interface TlsPipe extends ExternalRelay {
  /** ws origin of the plain side, e.g. ws://127.0.0.4:40000 */
  origin: string;
}

const BUFFER_BYTES = 262_144;

/** Null when socat is not installed. `target`: the simulator's TLS listener, verified against `caPem`. */
export async function startSocatFloor(host: string, target: { host: string; port: number }, caPem: string): Promise<TlsPipe | null> {
  const executable = findExecutable('socat');
  if (!executable) return null;
  const workDir = await mkdtemp(join(tmpdir(), 'pvnc-bench-socat-'));
  try {
    const caFile = join(workDir, 'ca.pem');
    await writeFile(caFile, caPem);
    const port = await freePort(host);
    // nodelay on both sides, as the gateway (through ws) and the Node pipe set it.
    const program = await startListeningProgram(
      'socat',
      executable,
      ['-b', String(BUFFER_BYTES), `TCP-LISTEN:${port},bind=${host},reuseaddr,fork,nodelay`, `OPENSSL:${target.host}:${target.port},cafile=${caFile},verify=1,nodelay`],
      host,
      port,
    );
    return {
      ...program,
      origin: `ws://${host}:${port}`,
      async stop() {
        await program.stop();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}
