import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { startSimulator } from '../sim/index.js';
import { createGateway } from './app.js';
import type { DemoBackend } from './cli-args.js';
import { loadConfig } from './config/load.js';
import { createLogger, type Logger } from './log.js';

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface DemoOptions {
  port?: number;
  /** The guests' consoles; by default QEMU when it is installed. */
  backend?: DemoBackend;
  stopOnSignals(stop: () => Promise<void>, log: Logger): void;
}

/**
 * `proxmoxvnc demo`: a simulated Proxmox VE (real QEMU guests when QEMU is installed) and a
 * gateway in front of it, with a console link and a curl line on standard output. The secret and
 * the link are printed for the person at the terminal only; the logs (stderr) never hold them.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const backend = options.backend ?? (onPath('qemu-system-x86_64') ? 'qemu' : 'builtin');
  if (backend === 'qemu' && !onPath('qemu-system-x86_64')) throw new Error('--backend qemu needs qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)');
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, backend });
  const workDir = await mkdtemp(join(tmpdir(), 'proxmoxvnc-demo-'));
  const caFile = join(workDir, 'pve-root-ca.pem');
  await writeFile(caFile, sim.caPem);
  const secret = randomBytes(24).toString('hex');

  const loaded = loadConfig({
    env: {
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_PUBLIC_HOST: 'localhost',
      ...process.env,
      PROXMOXVNC_AUTHORIZATION: secret,
      PROXMOXVNC_PROXMOX_CA_FILE: caFile,
    },
    flags: { port: options.port },
  });
  if ('problems' in loaded) throw new Error(`demo configuration: ${loaded.problems.join('; ')}`);
  const { config } = loaded;
  const log = createLogger({ enabled: true, level: config.logging_level, format: config.log_format }, process.stderr);
  const gateway = await createGateway(config, log);
  const port = await gateway.listen();

  const params = { hostname: sim.host, port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100' };
  // The original's `params` field, urlencoded: undici's FormData fails as a body on Node 24.
  const answer = await request(`http://127.0.0.1:${port}/create`, {
    method: 'POST',
    headers: { authorization: secret, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ params: JSON.stringify(params) }).toString(),
  });
  const created = (await answer.body.json()) as { status: string; url?: string; message?: string };
  if (created.status !== 'success' || !created.url) throw new Error(`demo: /create failed: ${created.message ?? answer.statusCode}`);

  const guests = sim.inventory.guests.map((g) => `${g.vmid} ${g.name} (${g.type}, ${g.status}, ${g.node})`).join('; ');
  process.stdout.write(
    [
      '',
      `proxmoxvnc demo: gateway ${gateway.publicOrigin}, simulated Proxmox VE ${sim.url} (${backend === 'qemu' ? 'real QEMU guests; --backend builtin for a screen that echoes typed keys' : 'built-in guest consoles; install qemu-system-x86 for real QEMU'})`,
      `guests: ${guests}`,
      '',
      'Open this console link in a browser (it works once, for 5 minutes):',
      `  ${created.url}`,
      '',
      'Create more links:',
      `  curl -X POST ${gateway.publicOrigin}/create -H "Authorization: ${secret}" \\`,
      `    -F 'params=${JSON.stringify(params)}'`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  options.stopOnSignals(async () => {
    await gateway.close();
    await sim.stop();
    await rm(workDir, { recursive: true, force: true });
  }, log.child('MAIN'));
}
