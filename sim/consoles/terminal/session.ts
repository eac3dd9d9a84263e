// One console's terminal: a fake shell whose output lands on a character grid and goes to the
// console's client, with everything it receives recorded in the guest's log.
import { TerminalScreen } from './screen.js';
import { FakeShell, type TerminalSize } from './shell.js';
import type { TerminalLog } from './terminal-log.js';

export interface TerminalSessionOptions {
  hostname: string;
  size: TerminalSize;
  log: TerminalLog;
  /** The shell's output, for the console's client (termproxy's byte stream; vncterm draws the screen instead). */
  output?(text: string): void;
  exit(): void;
}

export class TerminalSession {
  readonly screen: TerminalScreen;
  private readonly shell: FakeShell;

  constructor(private readonly opts: TerminalSessionOptions) {
    this.screen = new TerminalScreen(opts.size.cols, opts.size.rows);
    this.shell = new FakeShell({
      hostname: opts.hostname,
      size: { ...opts.size },
      output: (text) => {
        this.screen.write(text);
        opts.log.touched(this.screen);
        opts.output?.(text);
      },
      exit: () => opts.exit(),
    });
  }

  start(banner?: string): void {
    this.shell.start(banner);
  }

  redraw(): void {
    this.shell.redraw();
  }

  input(text: string): void {
    this.opts.log.recordInput(text);
    this.shell.input(text);
  }

  resize(size: TerminalSize): void {
    this.opts.log.recordResize(size);
    // A zero size is legal on the wire; the grid keeps at least one cell.
    this.screen.resize(Math.max(1, size.cols), Math.max(1, size.rows));
    this.shell.resize(size);
  }
}
