#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, USAGE } from './cli-args.js';
import { loadConfig } from './config/load.js';
import { createGateway, type Gateway } from './app.js';
import { runDemo } from './demo.js';
import { createLogger, type Logger } from './log.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** SIGTERM and SIGINT: stop accepting, let viewers finish for the drain time, exit 0. */
function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received, stopping`);
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        log.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function run(configFile: string | undefined, port: number | undefined): Promise<void> {
  // As the original: ./config.json when no file is named; the environment may supply everything.
  const file = configFile ?? (existsSync('config.json') ? 'config.json' : undefined);
  const loaded = loadConfig({ file, env: process.env, flags: { port } });
  if ('problems' in loaded) {
    process.stderr.write(`proxmoxvnc: invalid configuration${file ? ` (${file})` : ''}:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  const { config, warnings } = loaded;
  const log = createLogger({
    enabled: config.logging_enabled,
    level: config.logging_level,
    format: config.log_format,
    file: config.log_file,
  });
  const startLog = log.child('MAIN');
  for (const warning of warnings) startLog.warn(warning);
  const gateway: Gateway = await createGateway(config, log);
  await gateway.listen();
  stopOnSignals(() => gateway.close(config.drain_time * 1000), startLog);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if ('error' in args) {
    process.stderr.write(`proxmoxvnc: ${args.error}\n\n${USAGE}\n`);
    process.exit(2);
  }
  switch (args.command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    case 'version':
      process.stdout.write(`proxmoxvnc ${version()}\n`);
      return;
    case 'demo':
      await runDemo({ port: args.port, backend: args.backend, stopOnSignals });
      return;
    case 'run':
      await run(args.config, args.port);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`proxmoxvnc: ${error.message}\n`);
  process.exit(1);
});
