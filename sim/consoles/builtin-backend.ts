// The builtin console backend: an RFB server in this process for each guest, started on first use.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { GuestScreen } from './guest-screen.js';
import type { ConsoleBackend, ConsoleBackendOptions, GuestInfo, QemuProcessInfo } from './index.js';
import { KeyLogs } from './key-log.js';
import { QEMU_AUTH_FAILURE_REASON, RfbServer, VNCTERM_AUTH_FAILURE_REASON } from './rfb-server.js';
import { VncPassword } from './vnc-auth.js';

interface GuestConsole {
  password: VncPassword;
  screen: GuestScreen;
  server: RfbServer;
  socketPath: string;
}

/** Opens a unix socket connection, resolving once connected. */
export function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // The caller adds its own handler; until then a peer's failure must not become an uncaught error.
      socket.on('error', () => socket.destroy());
      resolve(socket);
    });
  });
}

/** Where the builtin backend's RFB server of a guest listens (benchmarks put websockify in front of it). */
export function builtinVncSocketPath(workDir: string, vmid: number): string {
  return join(workDir, `${vmid}.vnc`);
}

export function createBuiltinBackend(opts: ConsoleBackendOptions): ConsoleBackend {
  const consoles = new Map<number, Promise<GuestConsole>>();
  let stopped = false;
  // Survives stopGuest: what a guest was sent stays readable after it stopped.
  const keyLogs = opts.keyLogs ?? new KeyLogs();

  const start = async (guest: GuestInfo): Promise<GuestConsole> => {
    const password = new VncPassword();
    const screen = new GuestScreen(guest, keyLogs.of(guest.vmid));
    const socketPath = builtinVncSocketPath(opts.workDir, guest.vmid);
    const server = new RfbServer({
      socketPath,
      name: guest.name,
      framebuffer: screen.framebuffer,
      password,
      keys: keyLogs.of(guest.vmid),
      authFailureReason: guest.type === 'qemu' ? QEMU_AUTH_FAILURE_REASON : VNCTERM_AUTH_FAILURE_REASON,
      bulk: opts.bulk ?? false,
      echoClipboard: opts.echoClipboard ?? false,
    });
    try {
      await server.listen();
    } catch (err) {
      screen.dispose();
      throw err;
    }
    return { password, screen, server, socketPath };
  };

  const consoleOf = (guest: GuestInfo): Promise<GuestConsole> => {
    if (stopped) return Promise.reject(new Error('console backend stopped'));
    let pending = consoles.get(guest.vmid);
    if (!pending) {
      pending = start(guest);
      consoles.set(guest.vmid, pending);
      // A failed start is retried by the next caller instead of being cached.
      pending.catch(() => {
        if (consoles.get(guest.vmid) === pending) consoles.delete(guest.vmid);
      });
    }
    return pending;
  };

  const stopGuest = async (vmid: number): Promise<void> => {
    const pending = consoles.get(vmid);
    if (!pending) return;
    consoles.delete(vmid);
    const guestConsole = await pending.catch(() => undefined);
    if (!guestConsole) return;
    guestConsole.screen.dispose();
    await guestConsole.server.close();
  };

  return {
    async setVncPassword(guest, password) {
      (await consoleOf(guest)).password.set(password, opts.passwordExpiryMs);
    },
    async openVnc(guest) {
      return connectUnix((await consoleOf(guest)).socketPath);
    },
    received(vmid) {
      return keyLogs.of(vmid).snapshot();
    },
    stopGuest,
    qemuProcess(vmid): Promise<QemuProcessInfo> {
      return Promise.reject(new Error(`guest ${vmid} has a builtin console, not a QEMU process`));
    },
    async stop() {
      stopped = true;
      await Promise.all([...consoles.keys()].map(stopGuest));
    },
  };
}
