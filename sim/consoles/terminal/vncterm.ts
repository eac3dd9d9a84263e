// vncterm: a text terminal served as a VNC display (a container's console, or a VM's serial
// display), whose command attaches to the guest's console line as termproxy's does (a container's
// dtach session, or the VM's serial port, one client at a time). Only VNC authentication,
// vncterm's failure reason, several viewers at once, and vncterm's lifetime: it exits some time
// after its last viewer left, after long keyboard silence, or when its shell ends.
import type { Socket } from 'node:net';
import { connectUnix } from '../builtin-backend.js';
import { Framebuffer } from '../framebuffer.js';
import type { KeyLog } from '../key-log.js';
import { RfbServer, VNCTERM_AUTH_FAILURE_REASON } from '../rfb-server.js';
import { VncPassword } from '../vnc-auth.js';
import { KeyTranslator } from './keysyms.js';
import { CELL_PIXEL_HEIGHT, CELL_PIXEL_WIDTH, TerminalRenderer } from './renderer.js';
import type { Attachment, ConsoleLine } from './console-line.js';
import { TerminalScreen } from './screen.js';
import type { TerminalLog } from './terminal-log.js';

export interface VncTermOptions {
  socketPath: string;
  /** The guest's name: desktop name and the shell's host name. */
  name: string;
  /** Display size in pixels; the terminal gets as many 8x16 cells as fit. */
  width: number;
  height: number;
  password: string;
  passwordLifetimeMs: number;
  /** Exit this long after the last viewer left. */
  lingerMs: number;
  /** Exit after this long without keyboard input or a viewer arriving or leaving. */
  idleMs: number;
  log: TerminalLog;
  /** The guest's console line its command attaches to. */
  line: ConsoleLine;
  /** Where the keys typed are recorded besides the terminal's input (the simulator's received()). */
  keys: KeyLog;
  banner?: string;
  onExit(): void;
}

export class VncTerm {
  /** vncterm takes any number of viewers while it runs. */
  readonly reusable = true;
  private readonly server: RfbServer;
  private readonly attachment: Attachment;
  private readonly idleTimer: NodeJS.Timeout;
  private lingerTimer: NodeJS.Timeout | undefined;
  private exited = false;

  private constructor(private readonly opts: VncTermOptions) {
    const framebuffer = new Framebuffer(opts.width, opts.height);
    const cols = Math.max(1, Math.floor(opts.width / CELL_PIXEL_WIDTH));
    const rows = Math.max(1, Math.floor(opts.height / CELL_PIXEL_HEIGHT));
    const screen = new TerminalScreen(cols, rows);
    const renderer = new TerminalRenderer(screen, framebuffer);
    const show = (text: string) => {
      screen.write(text);
      opts.log.touched(screen);
      renderer.render();
    };
    const password = new VncPassword();
    password.set(opts.password, opts.passwordLifetimeMs);
    const translator = new KeyTranslator();
    this.server = new RfbServer({
      socketPath: opts.socketPath,
      name: opts.name,
      framebuffer,
      password,
      keys: {
        press: (keysym) => {
          this.idleTimer.refresh();
          opts.keys.press(keysym);
          const text = translator.press(keysym);
          if (text === undefined) return;
          this.attachment.input(text);
        },
        release: (keysym) => translator.release(keysym),
      },
      authFailureReason: VNCTERM_AUTH_FAILURE_REASON,
      bulk: false,
      echoClipboard: false,
      onConnectionCount: (count) => this.connectionCount(count),
    });
    if (opts.banner) show(`${opts.banner}\r\n`);
    this.attachment = opts.line.attach({ output: show, ended: () => void this.close() });
    // Its pty has the display's size (dtach's latest client sets the shell's).
    this.attachment.resize({ cols, rows });
    this.idleTimer = setTimeout(() => void this.close(), opts.idleMs);
    this.idleTimer.unref();
  }

  static async start(opts: VncTermOptions): Promise<VncTerm> {
    const vncterm = new VncTerm(opts);
    try {
      await vncterm.server.listen();
    } catch (err) {
      await vncterm.close();
      throw err;
    }
    return vncterm;
  }

  connect(): Promise<Socket> {
    if (this.exited) return Promise.reject(new Error('vncterm exited'));
    return connectUnix(this.opts.socketPath);
  }

  private connectionCount(count: number): void {
    if (this.exited) return;
    this.idleTimer.refresh();
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (count === 0) {
      this.lingerTimer = setTimeout(() => void this.close(), this.opts.lingerMs);
      this.lingerTimer.unref();
    }
  }

  /** vncterm exits: its viewers are cut and its port is given up. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.lingerTimer);
    this.attachment.detach();
    await this.server.close();
    this.opts.onExit();
  }
}
