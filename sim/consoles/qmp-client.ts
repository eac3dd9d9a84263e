// A QMP (QEMU Machine Protocol) client: JSON lines over a unix socket, replies matched by id.
import type { Socket } from 'node:net';

interface PendingCommand {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCommand>();
  private lineBuffer = '';
  private closedWith: Error | undefined;
  private greeted: Promise<void>;

  private constructor(private readonly socket: Socket) {
    let onGreeting!: () => void;
    let onNoGreeting!: (err: Error) => void;
    this.greeted = new Promise((resolve, reject) => {
      onGreeting = resolve;
      onNoGreeting = reject;
    });
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.lineBuffer += text;
      let newline: number;
      while ((newline = this.lineBuffer.indexOf('\n')) >= 0) {
        const line = this.lineBuffer.slice(0, newline).trim();
        this.lineBuffer = this.lineBuffer.slice(newline + 1);
        if (line) this.dispatch(line, onGreeting);
      }
    });
    const fail = (err: Error) => {
      this.closedWith ??= err;
      onNoGreeting(this.closedWith);
      for (const command of this.pending.values()) command.reject(this.closedWith);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Takes over a connected socket, waits for QEMU's greeting and enters command mode. */
  static async start(socket: Socket): Promise<QmpClient> {
    const client = new QmpClient(socket);
    await client.greeted;
    await client.execute('qmp_capabilities');
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  private dispatch(line: string, onGreeting: () => void): void {
    let message: { QMP?: unknown; id?: number; return?: unknown; error?: { class?: string; desc?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.QMP !== undefined) {
      onGreeting();
      return;
    }
    // Events (and anything else without one of our ids) need no answer.
    const command = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!command) return;
    this.pending.delete(message.id!);
    if (message.error) command.reject(new Error(`QMP ${command.command}: ${message.error.class ?? 'error'}: ${message.error.desc ?? ''}`));
    else command.resolve(message.return);
  }
}
