// The guests' text consoles: vncterm (VNC) and termproxy (xterm.js) processes, attached to the
// guest's console line (a VM's serial port, one client at a time; a container's console, shared),
// and the per-guest record of what they received.
import { join } from 'node:path';
import type { KeyLogs } from '../key-log.js';
import { TerminalLogs, type TerminalSnapshot } from './terminal-log.js';
import { ConsoleLine } from './console-line.js';
import { Termproxy, TERMPROXY_FIRST_SIZE, type TermproxyOptions } from './termproxy.js';
import { VncTerm, type VncTermOptions } from './vncterm.js';

export type { TerminalSnapshot } from './terminal-log.js';
export type { Termproxy } from './termproxy.js';
export type { VncTerm } from './vncterm.js';

export interface TextConsolesOptions {
  /** Directory for the unix sockets; created (and removed) by the caller. */
  workDir: string;
  /** Keys typed into vncterm are recorded here too (the simulator's received()). */
  keyLogs: KeyLogs;
}

interface Process {
  close(): Promise<void>;
}

export class TextConsoles {
  private readonly logs = new TerminalLogs();
  private readonly running = new Map<number, Set<Process>>();
  /** Each guest's console lines by name (`serial0`..`serial3`, or `console` for a container). */
  private readonly lines = new Map<number, Map<string, ConsoleLine>>();
  private nextId = 1;
  private stopped = false;

  constructor(private readonly opts: TextConsolesOptions) {}

  terminal(vmid: number): TerminalSnapshot {
    return this.logs.of(vmid).snapshot();
  }

  /** A vncterm whose command attaches to the guest's line `line` (a VM's serial display port, or `console`). */
  startVncterm(vmid: number, line: string, opts: Omit<VncTermOptions, 'socketPath' | 'log' | 'keys' | 'line'>): Promise<VncTerm> {
    const consoleLine = this.line(vmid, line, opts.name);
    return this.track(vmid, 'vncterm', opts.onExit, (socketPath, onExit) =>
      VncTerm.start({ ...opts, socketPath, log: this.logs.of(vmid), keys: this.opts.keyLogs.of(vmid), line: consoleLine, onExit }),
    );
  }

  /** A termproxy whose console command attaches to the guest's line `line` (a VM's serial port, or `console`). */
  startTermproxy(vmid: number, line: { name: string; hostname: string }, opts: Omit<TermproxyOptions, 'socketPath' | 'line'>): Promise<Termproxy> {
    const consoleLine = this.line(vmid, line.name, line.hostname);
    return this.track(vmid, 'termproxy', opts.onExit, (socketPath, onExit) => Termproxy.start({ ...opts, socketPath, line: consoleLine, onExit }));
  }

  /** The guest's console line, made on first use; it lasts until the guest stops. */
  line(vmid: number, name: string, hostname: string): ConsoleLine {
    let lines = this.lines.get(vmid);
    if (!lines) this.lines.set(vmid, (lines = new Map()));
    let line = lines.get(name);
    if (!line) {
      line = new ConsoleLine({ hostname, log: this.logs.of(vmid), size: { ...TERMPROXY_FIRST_SIZE }, kind: name === 'console' ? 'dtach' : 'serial' });
      lines.set(name, line);
    }
    return line;
  }

  /** Starts a process on a fresh socket and keeps it listed under its guest until it exits. */
  private async track<P extends Process>(vmid: number, kind: string, onExit: () => void, start: (socketPath: string, onExit: () => void) => Promise<P>): Promise<P> {
    if (this.stopped) throw new Error('text consoles stopped');
    const processes = this.running.get(vmid) ?? new Set<Process>();
    this.running.set(vmid, processes);
    const socketPath = join(this.opts.workDir, `${vmid}-${this.nextId++}.${kind}`);
    // A process that fails to start exits before it is known here.
    const known: { process?: P } = {};
    const started = await start(socketPath, () => {
      if (known.process) processes.delete(known.process);
      onExit();
    });
    known.process = started;
    processes.add(started);
    return started;
  }

  /** The guest stopped: its consoles end. The record stays readable. */
  async stopGuest(vmid: number): Promise<void> {
    await Promise.all([...(this.running.get(vmid) ?? [])].map((p) => p.close()));
    // A guest that starts again boots to fresh shells.
    this.lines.delete(vmid);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.keys()].map((vmid) => this.stopGuest(vmid)));
  }
}
