// The gateway in its own process, configured as an operator would, logging nothing.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { silentLogger } from '../src/log.js';
import { serveInChild, type Started } from './child.js';

export interface GatewayChildInfo {
  origin: string;
  secret: string;
}

export interface GatewayChildOptions {
  host: string;
  proxmoxCaPem: string;
  /** PROXMOXVNC_* settings over the defaults, e.g. higher limits for many sessions. */
  env?: Record<string, string>;
}

async function startGateway(host: string, caFile: string, env: Record<string, string>): Promise<Started<GatewayChildInfo>> {
  const secret = randomBytes(32).toString('hex');
  const loaded = loadConfig({
    env: {
      PROXMOXVNC_AUTHORIZATION: secret,
      PROXMOXVNC_ROUTER_IP: host,
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PUBLIC_HOST: host,
      PROXMOXVNC_PROXMOX_CA_FILE: caFile,
      // Round-trip probes send message after message, thousands a second, as no person does: the
      // flood guard is not what is measured here.
      PROXMOXVNC_BROWSER_MESSAGES_PER_SECOND: '1000000',
      ...env,
    },
    flags: {},
  });
  if ('problems' in loaded) throw new Error(`gateway config: ${loaded.problems.join('; ')}`);
  const gateway = await createGateway(loaded.config, silentLogger);
  await gateway.listen();
  return { info: { origin: gateway.publicOrigin, secret }, stop: () => gateway.close(0) };
}

serveInChild<GatewayChildOptions, GatewayChildInfo>(async ({ host, proxmoxCaPem, env = {} }) => {
  const workDir = await mkdtemp(join(tmpdir(), 'pvnc-bench-'));
  const removeWorkDir = () => rm(workDir, { recursive: true, force: true });
  try {
    const caFile = join(workDir, 'proxmox-ca.pem');
    await writeFile(caFile, proxmoxCaPem);
    const started = await startGateway(host, caFile, env);
    return {
      info: started.info,
      async stop() {
        await started.stop();
        await removeWorkDir();
      },
    };
  } catch (err) {
    await removeWorkDir();
    throw err;
  }
});
