// A pretend root shell for a guest's text console: a line editor and a handful of commands.
// It never runs anything on the host; every answer is made up here.

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface FakeShellOptions {
  /** The guest's name: the host name the shell reports. */
  hostname: string;
  size: TerminalSize;
  /** Bytes for the terminal (CRLF line ends, ANSI sequences). */
  output(text: string): void;
  /** The shell ended (`exit`, `logout`, Ctrl+D on an empty line). */
  exit(): void;
}

const KERNEL = '6.8.12-4-pve';
const CLEAR_SCREEN = '\x1b[H\x1b[2J';
const HOME_LISTING = ['bin', 'etc', 'notes.txt', 'projects'];
const COMMANDS = ['help', 'hostname', 'whoami', 'uname [-a|-n|-r]', 'echo TEXT', 'date', 'uptime', 'ls', 'pwd', 'clear', 'stty size', 'exit'];

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `date`'s default format, in UTC: `Tue Apr 14 09:03:07 UTC 2026`. */
function dateText(d: Date): string {
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} UTC ${d.getUTCFullYear()}`;
}

/** Strips one pair of matching quotes, as the shell would for simple words. */
function unquote(word: string): string {
  return /^(['"]).*\1$/.test(word) && word.length >= 2 ? word.slice(1, -1) : word;
}

export class FakeShell {
  private line = '';
  /** Part of an escape sequence (arrow keys and such), swallowed until complete. */
  private escape = '';
  /** The CR of a CRLF pair was seen: a following LF is the same Enter. */
  private afterCr = false;
  private ended = false;
  private readonly startedAt = Date.now();

  constructor(private readonly opts: FakeShellOptions) {}

  get size(): TerminalSize {
    return this.opts.size;
  }

  get prompt(): string {
    return `root@${this.opts.hostname}:~# `;
  }

  /** Shows the first prompt, after an optional banner line. */
  start(banner?: string): void {
    this.opts.output(`${banner ? `${banner}\r\n` : ''}${this.prompt}`);
  }

  resize(size: TerminalSize): void {
    this.opts.size = size;
  }

  /** Shows the prompt and the line being typed again, on a line of their own. */
  redraw(): void {
    if (!this.ended) this.opts.output(`\r\n${this.prompt}${this.line}`);
  }

  /** Keyboard input, as a terminal sends it (Enter is CR, Backspace DEL). */
  input(data: string): void {
    for (const ch of data) {
      if (this.ended) return;
      this.key(ch);
    }
  }

  private key(ch: string): void {
    const afterCr = this.afterCr;
    this.afterCr = ch === '\r';
    if (this.escape) {
      this.escape += ch;
      // eslint-disable-next-line no-control-regex -- escape sequences start with the ESC control character
      if (/^\x1b(\[[0-9;]*[\x40-\x7e]|O.|[^[O])$/.test(this.escape) || this.escape.length > 16) this.escape = '';
      return;
    }
    switch (ch) {
      case '\r':
        this.enter();
        return;
      case '\n':
        if (!afterCr) this.enter();
        return;
      case '\x7f':
      case '\b':
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          this.opts.output('\b \b');
        }
        return;
      case '\x03':
        this.line = '';
        this.opts.output(`^C\r\n${this.prompt}`);
        return;
      case '\x04':
        if (this.line === '') this.run('exit');
        return;
      case '\x0c':
        this.opts.output(`${CLEAR_SCREEN}${this.prompt}${this.line}`);
        return;
      case '\x1b':
        this.escape = ch;
        return;
      default:
        if (ch < ' ') return;
        this.line += ch;
        this.opts.output(ch);
    }
  }

  private enter(): void {
    const line = this.line;
    this.line = '';
    this.opts.output('\r\n');
    this.run(line.trim());
  }

  private run(line: string): void {
    const [command = '', ...args] = line.split(/\s+/).filter(Boolean);
    if (command === 'exit' || command === 'logout') {
      this.ended = true;
      this.opts.output('logout\r\n');
      this.opts.exit();
      return;
    }
    const answer = this.answer(command, args);
    this.opts.output(`${answer.map((l) => `${l}\r\n`).join('')}${this.prompt}`);
  }

  /** The lines a command prints (clear writes its escape sequence itself). */
  private answer(command: string, args: string[]): string[] {
    const name = this.opts.hostname;
    switch (command) {
      case '':
        return [];
      case 'help':
        return [`Simulated console of ${name}. Commands:`, `  ${COMMANDS.join(', ')}`];
      case 'hostname':
        return [name];
      case 'whoami':
        return ['root'];
      case 'uname':
        if (args[0] === '-a') return [`Linux ${name} ${KERNEL} #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux`];
        if (args[0] === '-n') return [name];
        if (args[0] === '-r') return [KERNEL];
        return ['Linux'];
      case 'echo':
        return [args.map(unquote).join(' ')];
      case 'date':
        return [dateText(new Date())];
      case 'uptime': {
        const now = new Date();
        const minutes = Math.floor((Date.now() - this.startedAt) / 60_000);
        return [` ${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} up ${minutes} min,  1 user,  load average: 0.00, 0.01, 0.05`];
      }
      case 'ls':
        return [HOME_LISTING.join('  ')];
      case 'pwd':
        return ['/root'];
      case 'clear':
        this.opts.output(CLEAR_SCREEN);
        return [];
      case 'stty':
        if (args[0] === 'size') return [`${this.opts.size.rows} ${this.opts.size.cols}`];
        return [`stty: only 'stty size' is simulated`];
      default:
        return [`-bash: ${command}: command not found`];
    }
  }
}
