#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultDurations, startSimulator, type Durations, type Faults, type SimulatorOptions } from './index.js';
import type { RouteFailure } from './settings.js';

const HELP = `proxmoxvnc-sim: a Proxmox VE API and console simulator (HTTPS)

Usage: proxmoxvnc-sim [options]

  --host ADDR             listen address (default 127.0.0.1)
  --port N                listen port (default 8006; 0 = a free port)
  --inventory FILE        JSON inventory (nodes, users, tokens, guests); see docs/simulator.md
  --release current|7     Proxmox behaviour to imitate (default: inventory's, else current)
  --backend builtin|qemu  guest consoles: built-in RFB server, or real qemu-system-x86_64
  --cert FILE --key FILE  serve this certificate instead of a generated cluster CA + node certificate
  --ca-out FILE           write the CA certificate (PEM) clients should trust to FILE
  --duration NAME=MS      change a Proxmox duration (repeatable); names and defaults:
${Object.entries(defaultDurations).map(([name, ms]) => `                            ${name}=${ms}`).join('\n')}
  Faults:
  --delay-ms N            delay every API answer by N ms
  --fail-route MATCH=STATUS  fail a route (name such as qemu.vncproxy, or a regex on the API path)
  --drop-after-bytes N    close console websockets after N bytes towards the client
  --refuse-logins         every login fails
  --unreachable refuse|drop  new connections are reset at once, or accepted and never answered
  --bulk                  built-in consoles stream full screens (benchmarks)
  --echo-clipboard        built-in consoles echo clipboard text back
  --help                  show this text

Stops cleanly (and stops the QEMU processes it started) on SIGINT or SIGTERM.`;

function integer(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`--${name} needs a non-negative integer, got '${value}'`);
  return Number(value);
}

function pair(flag: string, value: string): [string, string] {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) throw new Error(`--${flag} needs NAME=VALUE, got '${value}'`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

function parseDurations(values: string[]): Partial<Durations> {
  const out: Partial<Durations> = {};
  for (const value of values) {
    const [name, ms] = pair('duration', value);
    if (!(name in defaultDurations)) throw new Error(`--duration: unknown name '${name}' (known: ${Object.keys(defaultDurations).join(', ')})`);
    out[name as keyof Durations] = integer('duration', ms);
  }
  return out;
}

function parseFailures(values: string[]): RouteFailure[] {
  return values.map((value) => {
    const [match, status] = pair('fail-route', value);
    const code = integer('fail-route', status);
    if (code < 400 || code > 599) throw new Error(`--fail-route: status must be 400-599, got ${code}`);
    return { match, status: code };
  });
}

function optionsFromArgs(argv: string[]): (SimulatorOptions & { caOut?: string }) | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      inventory: { type: 'string' },
      release: { type: 'string' },
      backend: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'ca-out': { type: 'string' },
      duration: { type: 'string', multiple: true },
      'delay-ms': { type: 'string' },
      'fail-route': { type: 'string', multiple: true },
      'drop-after-bytes': { type: 'string' },
      'refuse-logins': { type: 'boolean' },
      unreachable: { type: 'string' },
      bulk: { type: 'boolean' },
      'echo-clipboard': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (values.release !== undefined && values.release !== 'current' && values.release !== '7') throw new Error(`--release must be current or 7`);
  if (values.backend !== undefined && values.backend !== 'builtin' && values.backend !== 'qemu') throw new Error(`--backend must be builtin or qemu`);
  if ((values.cert === undefined) !== (values.key === undefined)) throw new Error('--cert and --key go together');
  const faults: Partial<Faults> = {};
  if (values['delay-ms'] !== undefined) faults.delayMs = integer('delay-ms', values['delay-ms']);
  if (values['fail-route']) faults.failRoutes = parseFailures(values['fail-route']);
  if (values['drop-after-bytes'] !== undefined) faults.dropWebsocketAfterBytes = integer('drop-after-bytes', values['drop-after-bytes']);
  if (values['refuse-logins']) faults.refuseLogins = true;
  if (values.unreachable !== undefined) {
    if (values.unreachable !== 'refuse' && values.unreachable !== 'drop') throw new Error('--unreachable must be refuse or drop');
    faults.unreachable = values.unreachable;
  }
  if (values.bulk) faults.bulk = true;
  if (values['echo-clipboard']) faults.echoClipboard = true;
  return {
    host: values.host,
    port: values.port === undefined ? 8006 : integer('port', values.port),
    inventory: values.inventory,
    release: values.release as SimulatorOptions['release'],
    backend: values.backend as SimulatorOptions['backend'],
    certFile: values.cert,
    keyFile: values.key,
    durations: parseDurations(values.duration ?? []),
    faults,
    caOut: values['ca-out'],
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof optionsFromArgs>;
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`proxmoxvnc-sim: ${(err as Error).message}\nTry --help.\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const sim = await startSimulator(options);
  if (options.caOut) await writeFile(options.caOut, sim.caPem);
  process.stdout.write(
    [
      `proxmoxvnc-sim listening on ${sim.url}/api2/json`,
      `certificate fingerprint (SHA-256): ${sim.fingerprint}`,
      ...(options.caOut ? [`CA certificate written to ${options.caOut}`] : []),
      `nodes: ${sim.inventory.nodes.join(', ')}`,
      `users: ${sim.inventory.users.map((u) => u.userid).join(', ')}`,
      `guests: ${sim.inventory.guests.map((g) => `${g.vmid} ${g.type} ${g.name} (${g.status} on ${g.node})`).join(', ')}`,
    ].join('\n') + '\n',
  );
  const shutdown = (): void => {
    sim.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`proxmoxvnc-sim: stop failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: Error) => {
  process.stderr.write(`proxmoxvnc-sim: ${err.message}\n`);
  process.exit(1);
});
