// Guest console backends of the simulator. The HTTP/websocket side talks to them only through
// ConsoleBackend; nothing here knows about Proxmox's API.
import type { Socket } from 'node:net';
import { createBuiltinBackend } from './builtin-backend.js';
import type { KeyLogs } from './key-log.js';
import { createQemuBackend } from './qemu-backend.js';

export interface GuestInfo {
  vmid: number;
  type: 'qemu' | 'lxc';
  name: string;
  node: string;
}

export interface ConsoleBackendOptions {
  /** builtin: an RFB server in TypeScript per guest; qemu: a real QEMU per VM (containers use builtin). */
  kind: 'builtin' | 'qemu';
  /** How long a VNC password stays usable after it is set (Proxmox: 30 s). */
  passwordExpiryMs: number;
  /** Directory for the unix sockets; created (and removed) by the caller. */
  workDir: string;
  /** Builtin only: answer every update request at once with a full changing screen (benchmarks). */
  bulk?: boolean;
  /** Builtin only: answer ClientCutText with a ServerCutText of the same text. */
  echoClipboard?: boolean;
  /** Where keys typed into guests are recorded; shared with the text consoles. Default: the backend's own. */
  keyLogs?: KeyLogs;
}

/** What the QEMU behind a VM's console reports about itself over QMP. */
export interface QemuProcessInfo {
  /** Process id of the QEMU the backend started; QMP proved it is the one answering (see qemu-backend.ts). */
  pid: number;
  /** QMP query-name. */
  name: string;
  /** QMP query-vnc: the VNC server's unix socket path, and how many VNC clients are connected. */
  vncSocket: string;
  vncClients: number;
}

export interface ConsoleBackend {
  /** As qemu-server's vncproxy: set_password, then expire_password +expiry; replaces the previous password. */
  setVncPassword(guest: GuestInfo, password: string): Promise<void>;
  /** A raw RFB byte stream to the guest's VNC server. */
  openVnc(guest: GuestInfo): Promise<Socket>;
  /** Keys the guest got (down events), and the text they typed. */
  received(vmid: number): { keysyms: number[]; text: string };
  /** The guest stopped: its console server goes away and its viewers are disconnected. */
  stopGuest(vmid: number): Promise<void>;
  /** Rejects unless a QEMU process serves this guest (builtin backend, containers). */
  qemuProcess(vmid: number): Promise<QemuProcessInfo>;
  stop(): Promise<void>;
}

export function createConsoleBackend(opts: ConsoleBackendOptions): ConsoleBackend {
  return opts.kind === 'qemu' ? createQemuBackend(opts) : createBuiltinBackend(opts);
}
