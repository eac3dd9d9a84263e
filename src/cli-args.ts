import { parseArgs as parseNodeArgs } from 'node:util';

export type CliCommand = 'run' | 'demo' | 'help' | 'version';
export type DemoBackend = 'builtin' | 'qemu';
export type CliArgs = { command: CliCommand; config?: string; port?: number; backend?: DemoBackend };

export const USAGE = `Usage:
  proxmoxvnc -config config.json [-port N]   run the gateway
  proxmoxvnc demo [--port N] [--backend B]   run a demo against the built-in Proxmox VE simulator
  proxmoxvnc --help | --version

Flags (one or two dashes; "-config=FILE" works too):
  -config FILE   JSON config file (optional when the environment supplies what is required)
  -port N        listen port, overrides router_port
  --backend B    demo only: the guests' consoles, "qemu" (real QEMU, showing its BIOS; the default
                 when qemu-system-x86_64 is installed) or "builtin" (a screen that echoes typed keys)
  -h, --help     show this help
  -v, --version  show the version

Environment:
  Every config field can be set as PROXMOXVNC_<FIELD IN UPPER CASE>, for example
  PROXMOXVNC_AUTHORIZATION, PROXMOXVNC_ROUTER_PORT=9999, PROXMOXVNC_LOGGING_LEVEL=debug.
  Lists are comma-separated (PROXMOXVNC_FRAME_ANCESTORS=https://panel.example.com,https://admin.example.com),
  booleans are true/false/1/0.
  Precedence: command-line flag, then environment, then config file, then default.

The control secret ("authorization") must be at least 32 characters: openssl rand -hex 32
`;

const OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const VALUE_FLAGS = new Set(['config', 'port', 'backend']);

/**
 * The original (Go's flag package) takes `-config` and `-port` with one dash; node's parser
 * reads that as a cluster of short flags, so long names with one dash get a second one. The
 * argument after a value flag is left alone: it is a value, even when it starts with a dash.
 */
function normaliseDashes(argv: readonly string[]): string[] {
  const out: string[] = [];
  let expectValue = false;
  for (const arg of argv) {
    if (expectValue) {
      out.push(arg);
      expectValue = false;
      continue;
    }
    const long = /^--?([A-Za-z][\w-]+)(=.*)?$/s.exec(arg);
    if (long) {
      out.push(`--${long[1]}${long[2] ?? ''}`);
      expectValue = VALUE_FLAGS.has(long[1] ?? '') && long[2] === undefined;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const flag = /'(?:-\w, )?(--?[\w-]+)/.exec(message ?? '')?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /does not take an argument/.test(message ?? '') ? `flag ${flag} takes no value` : `flag ${flag} needs a value`;
  }
  return message ?? String(error);
}

export function parseArgs(argv: readonly string[]): CliArgs | { error: string } {
  let parsed;
  try {
    parsed = parseNodeArgs({ args: normaliseDashes(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return { error: describeParseError(error) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };

  if (positionals.length > 1) return { error: `unexpected arguments: ${positionals.slice(1).join(' ')}` };
  const [subcommand] = positionals;
  if (subcommand !== undefined && subcommand !== 'demo') return { error: `unknown command "${subcommand}" (the only command is demo)` };

  const result: CliArgs = { command: subcommand === 'demo' ? 'demo' : 'run' };
  if (values.config !== undefined) {
    if (values.config === '') return { error: 'flag --config needs a file name' };
    result.config = values.config;
  }
  if (values.port !== undefined) {
    const port = parsePort(values.port);
    if (port === undefined) return { error: `flag --port: "${values.port}" is not a port number (0 to 65535)` };
    result.port = port;
  }
  if (values.backend !== undefined) {
    if (result.command !== 'demo') return { error: 'flag --backend is for the demo only' };
    if (values.backend !== 'builtin' && values.backend !== 'qemu') return { error: `flag --backend: "${values.backend}" is neither builtin nor qemu` };
    result.backend = values.backend;
  }
  return result;
}
