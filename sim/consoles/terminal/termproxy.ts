// termproxy: the xterm.js console's server for one client. It reads the login line
// `<user>:<ticket>\n`, answers `OK`, runs the guest's console command (here: attaching to the
// guest's console line, or the error that command would print) and speaks termproxy's message
// protocol until either side ends.
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { connectUnix } from '../builtin-backend.js';
import type { Attachment, ConsoleLine } from './console-line.js';
import { LoginLineReader, TermproxyMessageReader, type TermproxyMessage } from './termproxy-messages.js';

/** termproxy's first terminal size, before the client's first resize. */
export const TERMPROXY_FIRST_SIZE = { cols: 80, rows: 20 };

export interface TermproxyOptions {
  socketPath: string;
  /** The guest's serial port or container console the console command attaches to. */
  line: ConsoleLine;
  /** How long the client has for its login line once connected. */
  loginWaitMs: number;
  /** Whether the login line's user and ticket may use this console; false closes without `OK`. */
  checkLogin(user: string, ticket: string): boolean;
  /**
   * A refused login is closed only this long after the login line: termproxy asks the API
   * (POST access/ticket or access/vncticket), whose 401 pve-http-server delays like every 401.
   */
  refusalDelayMs: number;
  /** Asked after `OK`: the error the console command fails with at once, if any (printed, then closed). */
  commandFailure(): string | undefined;
  /** What the console command prints before it attaches (`qm terminal`'s "starting serial terminal ..."). */
  banner?: string;
  onExit(): void;
}

export class Termproxy {
  /** termproxy serves exactly one client. */
  readonly reusable = false;
  private readonly server: Server;
  private client: Socket | undefined;
  private attachment: Attachment | undefined;
  private exited = false;

  private constructor(private readonly opts: TermproxyOptions) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  static async start(opts: TermproxyOptions): Promise<Termproxy> {
    await rm(opts.socketPath, { force: true });
    const termproxy = new Termproxy(opts);
    await new Promise<void>((resolve, reject) => {
      termproxy.server.once('error', reject);
      termproxy.server.listen(opts.socketPath, () => {
        termproxy.server.off('error', reject);
        resolve();
      });
    });
    return termproxy;
  }

  connect(): Promise<Socket> {
    if (this.exited) return Promise.reject(new Error('termproxy exited'));
    return connectUnix(this.opts.socketPath);
  }

  private accept(socket: Socket): void {
    if (this.client || this.exited) {
      socket.destroy();
      return;
    }
    this.client = socket;
    this.server.close();
    socket.on('error', () => void this.close());
    socket.on('close', () => void this.close());
    const loginTimer = setTimeout(() => void this.close(), this.opts.loginWaitMs);
    loginTimer.unref();
    const login = new LoginLineReader();
    const onLoginData = (chunk: Buffer): void => {
      try {
        const line = login.push(chunk);
        if (!line) return;
        clearTimeout(loginTimer);
        socket.off('data', onLoginData);
        this.loggedIn(socket, line.user, line.ticket, line.rest);
      } catch {
        void this.close();
      }
    };
    socket.on('data', onLoginData);
  }

  private loggedIn(socket: Socket, user: string, ticket: string, rest: Buffer): void {
    if (!this.opts.checkLogin(user, ticket)) {
      setTimeout(() => void this.close(), this.opts.refusalDelayMs).unref();
      return;
    }
    const failure = this.opts.commandFailure();
    if (failure !== undefined) {
      socket.end(`OK${failure}\r\n`, () => void this.close());
      return;
    }
    // `OK` and the first output leave together, as they often do from the real termproxy.
    socket.cork();
    socket.write(`OK${this.opts.banner ? `${this.opts.banner}\r\n` : ''}`);
    const attachment = this.opts.line.attach({
      output: (text) => socket.write(text),
      ended: () => socket.end(() => void this.close()),
    });
    this.attachment = attachment;
    socket.uncork();
    const messages = new TermproxyMessageReader();
    const onData = (chunk: Buffer): void => {
      try {
        for (const message of messages.push(chunk)) this.handle(attachment, message);
      } catch {
        // Anything that is not a termproxy message ends the connection, as termproxy does.
        void this.close();
      }
    };
    socket.on('data', onData);
    if (rest.length > 0) onData(rest);
  }

  private handle(attachment: Attachment, message: TermproxyMessage): void {
    if (this.exited) return;
    switch (message.type) {
      case 'input':
        attachment.input(message.data.toString('utf8'));
        return;
      case 'resize':
        attachment.resize({ cols: message.cols, rows: message.rows });
        return;
      case 'ping':
        return;
    }
  }

  /** termproxy exits: its client is cut and its port is given up. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.attachment?.detach();
    this.client?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.opts.socketPath, { force: true });
    this.opts.onExit();
  }
}
