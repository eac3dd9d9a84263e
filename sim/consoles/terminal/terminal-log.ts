// What a guest's text consoles received, kept for tests (and the simulator's terminal() call).
import type { TerminalScreen } from './screen.js';
import type { TerminalSize } from './shell.js';

export interface TerminalSnapshot {
  /** Every input the guest's terminals got, in order (termproxy input messages, vncterm keys). */
  input: string;
  /** termproxy resize messages, in order. */
  resizes: TerminalSize[];
  /** Text of the terminal that changed last, rows joined by "\n" (trailing blanks dropped). */
  screen: string;
}

export class TerminalLog {
  private input = '';
  private readonly resizes: TerminalSize[] = [];
  private latest: TerminalScreen | undefined;

  recordInput(text: string): void {
    this.input += text;
  }

  recordResize(size: TerminalSize): void {
    this.resizes.push({ ...size });
  }

  /** The screen a console just changed becomes the one snapshot() shows. */
  touched(screen: TerminalScreen): void {
    this.latest = screen;
  }

  snapshot(): TerminalSnapshot {
    return { input: this.input, resizes: this.resizes.map((s) => ({ ...s })), screen: this.latest?.text() ?? '' };
  }
}

/** Every guest's terminal log; a log outlives the consoles that wrote to it. */
export class TerminalLogs {
  private readonly logs = new Map<number, TerminalLog>();

  of(vmid: number): TerminalLog {
    let log = this.logs.get(vmid);
    if (!log) this.logs.set(vmid, (log = new TerminalLog()));
    return log;
  }
}
