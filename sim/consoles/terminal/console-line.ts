// A guest's text line, which outlives the console processes that attach to it: a VM's serial
// port, which QEMU serves to one client at a time, or a container's console, one dtach session
// shared by every client. Its shell keeps its state from one client to the next.
import { TerminalSession } from './session.js';
import type { TerminalSize } from './shell.js';
import type { TerminalLog } from './terminal-log.js';

export interface LineClient {
  /** The line's output, while this client is attached. */
  output(text: string): void;
  /** The shell ended (`exit`): the client's console command ends with it. */
  ended(): void;
}

export interface Attachment {
  input(text: string): void;
  resize(size: TerminalSize): void;
  /** The client went away; the next waiting one gets the serial port. */
  detach(): void;
}

interface Client {
  client: LineClient;
  /** Typed while waiting for the port: the socket buffers it until QEMU accepts the connection. */
  held: string[];
  attached: boolean;
}

export interface ConsoleLineOptions {
  hostname: string;
  log: TerminalLog;
  size: TerminalSize;
  /**
   * `serial`: QEMU's socket chardev stops accepting while it has a client (char-socket.c drops
   * its listener's handler until that client disconnects), so a later `qm terminal`'s socat is
   * connected into the listen backlog and hears nothing until the port is free. `dtach`:
   * pve-container runs `dtach -A /var/run/dtach/vzctlconsole<vmid> -r winch -z lxc-console ...`,
   * whose master serves every attached client the same terminal.
   */
  kind: 'serial' | 'dtach';
}

export class ConsoleLine {
  private session: TerminalSession | undefined;
  private readonly clients: Client[] = [];

  constructor(private readonly opts: ConsoleLineOptions) {}

  /** Clients attached now (a serial port has at most one) and waiting for the port. */
  get counts(): { attached: number; waiting: number } {
    const attached = this.clients.filter((c) => c.attached).length;
    return { attached, waiting: this.clients.length - attached };
  }

  attach(client: LineClient): Attachment {
    const entry: Client = { client, held: [], attached: false };
    this.clients.push(entry);
    if (this.opts.kind === 'dtach' || !this.clients.some((c) => c.attached)) this.connect(entry);
    return {
      input: (text) => {
        if (!entry.attached) entry.held.push(text);
        else this.shell().input(text);
      },
      resize: (size) => {
        if (entry.attached) this.shell().resize(size);
      },
      detach: () => this.detach(entry),
    };
  }

  private shell(): TerminalSession {
    if (this.session) return this.session;
    const session: TerminalSession = new TerminalSession({
      hostname: this.opts.hostname,
      size: { ...this.opts.size },
      log: this.opts.log,
      output: (text) => {
        for (const c of this.clients) if (c.attached) c.client.output(text);
      },
      exit: () => {
        // The shell logged out: a fresh one (a new getty) greets whoever comes next.
        if (this.session === session) this.session = undefined;
        for (const c of [...this.clients]) if (c.attached) c.client.ended();
      },
    });
    this.session = session;
    return session;
  }

  private connect(entry: Client): void {
    entry.attached = true;
    const fresh = this.session === undefined;
    const session = this.shell();
    // A new shell shows its first prompt. One already running is asked to show it again: dtach's
    // `-r winch` redraw for a container; a real serial line would stay silent until a key is
    // pressed, which the simulator spares its clients.
    if (fresh) session.start();
    else session.redraw();
    for (const text of entry.held.splice(0)) session.input(text);
  }

  private detach(entry: Client): void {
    const at = this.clients.indexOf(entry);
    if (at < 0) return;
    this.clients.splice(at, 1);
    if (this.opts.kind === 'serial' && entry.attached) {
      const next = this.clients.find((c) => !c.attached);
      if (next) this.connect(next);
    }
  }
}
