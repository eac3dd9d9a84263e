// The qemu console backend: a real qemu-system-x86_64 per VM (SeaBIOS on its VGA), its VNC
// password set over QMP as qemu-server's vncproxy does. Containers have no QEMU: they get the
// builtin console.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { createBuiltinBackend, connectUnix } from './builtin-backend.js';
import type { ConsoleBackend, ConsoleBackendOptions, GuestInfo, QemuProcessInfo } from './index.js';
import { KeyLogs, type KeyLog } from './key-log.js';
import { KeyTap } from './key-tap.js';
import { QmpClient } from './qmp-client.js';

const QEMU = 'qemu-system-x86_64';
const STARTUP_TIMEOUT_MS = 15_000;
const TERM_GRACE_MS = 1000;

interface QemuGuest {
  child: ChildProcess;
  pid: number;
  qmp: QmpClient;
  vncPath: string;
  /** Where openVnc connects: a pass-through to QEMU's VNC socket that reads the keys along. */
  tap: Server;
  tapConnections: Set<Socket>;
  tapPath: string;
  exited: Promise<void>;
}

/** QEMU option values escape a comma by doubling it. */
function qemuOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((candidate) => existsSync(candidate));
}

/** Every QEMU started by any backend, killed if this process exits without stopping them. */
const livingChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of livingChildren) child.kill('SIGKILL');
});

function spawnQemu(args: string[]): ChildProcess {
  // setpriv's parent-death signal also takes QEMU down when this process is killed outright.
  const setpriv = onPath('setpriv');
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', QEMU, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  livingChildren.add(child);
  child.once('exit', () => livingChildren.delete(child));
  return child;
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS);
  await exited;
  clearTimeout(killer);
}

/** QMP's socket appears once QEMU got far enough; poll until it answers. */
async function connectQmp(path: string, child: ChildProcess, stderrTail: () => string): Promise<QmpClient> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${QEMU} exited during start: ${stderrTail() || `code ${child.exitCode ?? child.signalCode}`}`);
    }
    try {
      return await QmpClient.start(await connectUnix(path));
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${QEMU} QMP did not answer within ${STARTUP_TIMEOUT_MS} ms`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function pipeTogether(client: Socket, upstream: Socket, tap: KeyTap): void {
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', closeBoth);
  upstream.on('error', closeBoth);
  client.on('close', closeBoth);
  upstream.on('close', closeBoth);
  client.on('data', (chunk: Buffer) => tap.observe(chunk));
  client.pipe(upstream);
  upstream.pipe(client);
}

/** The pass-through openVnc connects to: every connection is piped to QEMU's VNC socket, its keys read along. */
async function listenTap(tapPath: string, vncPath: string, keys: KeyLog): Promise<{ tap: Server; tapConnections: Set<Socket> }> {
  const tapConnections = new Set<Socket>();
  const tap = createServer((client) => {
    tapConnections.add(client);
    client.on('close', () => tapConnections.delete(client));
    client.on('error', () => client.destroy());
    connectUnix(vncPath).then(
      (upstream) => {
        if (client.destroyed) upstream.destroy();
        else pipeTogether(client, upstream, new KeyTap(keys));
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    tap.once('error', reject);
    tap.listen(tapPath, () => {
      tap.off('error', reject);
      resolve();
    });
  });
  tap.on('error', () => {
    // Only new connections are affected; QEMU itself keeps serving.
  });
  return { tap, tapConnections };
}

async function shutDown(qemu: QemuGuest): Promise<void> {
  qemu.qmp.close();
  for (const connection of qemu.tapConnections) connection.destroy();
  await new Promise<void>((resolve) => qemu.tap.close(() => resolve()));
  await terminate(qemu.child, qemu.exited);
  await Promise.all([qemu.vncPath, qemu.tapPath].map((path) => rm(path, { force: true })));
}

function isAlive(qemu: QemuGuest): boolean {
  return qemu.child.exitCode === null && qemu.child.signalCode === null && !qemu.qmp.isClosed;
}

export function createQemuBackend(opts: ConsoleBackendOptions): ConsoleBackend {
  const keyLogs = opts.keyLogs ?? new KeyLogs();
  const containers = createBuiltinBackend({ ...opts, keyLogs });
  const guests = new Map<number, Promise<QemuGuest>>();
  let stopped = false;

  const start = async (guest: GuestInfo): Promise<QemuGuest> => {
    const vncPath = join(opts.workDir, `${guest.vmid}.vnc`);
    const qmpPath = join(opts.workDir, `${guest.vmid}.qmp`);
    const tapPath = join(opts.workDir, `${guest.vmid}.vnc-tap`);
    await Promise.all([vncPath, qmpPath, tapPath].map((path) => rm(path, { force: true })));
    const child = spawnQemu([
      '-display', 'none',
      '-vnc', `unix:${qemuOptionValue(vncPath)},password=on`,
      '-qmp', `unix:${qemuOptionValue(qmpPath)},server,nowait`,
      '-nodefaults', '-vga', 'std', '-m', '64', '-nic', 'none',
      '-name', qemuOptionValue(guest.name),
    ]);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // 'error' means QEMU could not be started (or signalled); only the first one matters.
    const spawnFailed = new Promise<never>((_, reject) => child.on('error', reject));
    spawnFailed.catch(() => undefined);
    try {
      const qmp = await Promise.race([connectQmp(qmpPath, child, () => stderr.trim()), spawnFailed]);
      const { tap, tapConnections } = await listenTap(tapPath, vncPath, keyLogs.of(guest.vmid));
      const qemuGuest: QemuGuest = { child, pid: child.pid!, qmp, vncPath, tap, tapConnections, tapPath, exited };
      // A QEMU that dies on its own is cleaned up and forgotten: the next console request starts a new one.
      void exited.then(() => retire(guest.vmid, qemuGuest));
      return qemuGuest;
    } catch (err) {
      await terminate(child, exited);
      throw err;
    }
  };

  /** Shuts a guest's QEMU down, and forgets it unless a newer one took its place already. */
  const retire = async (vmid: number, qemu: QemuGuest): Promise<void> => {
    const entry = guests.get(vmid);
    if (entry && (await entry.catch(() => undefined)) === qemu && guests.get(vmid) === entry) guests.delete(vmid);
    await shutDown(qemu);
  };

  /** The guest's running QEMU; started on first use, and started anew when the last one died. */
  const qemuOf = async (guest: GuestInfo): Promise<QemuGuest> => {
    if (stopped) throw new Error('console backend stopped');
    const known = await guests.get(guest.vmid)?.catch(() => undefined);
    if (known && isAlive(known)) return known;
    if (known) await retire(guest.vmid, known);
    let pending = guests.get(guest.vmid);
    if (!pending) {
      const starting = start(guest);
      guests.set(guest.vmid, starting);
      starting.catch(() => {
        if (guests.get(guest.vmid) === starting) guests.delete(guest.vmid);
      });
      pending = starting;
    }
    return pending;
  };

  const stopGuest = async (vmid: number): Promise<void> => {
    const pending = guests.get(vmid);
    guests.delete(vmid);
    await containers.stopGuest(vmid);
    const qemu = await pending?.catch(() => undefined);
    if (qemu) await shutDown(qemu);
  };

  return {
    async setVncPassword(guest, password) {
      if (guest.type === 'lxc') return containers.setVncPassword(guest, password);
      const { qmp } = await qemuOf(guest);
      await qmp.execute('set_password', { protocol: 'vnc', password });
      await qmp.execute('expire_password', { protocol: 'vnc', time: `+${Math.ceil(opts.passwordExpiryMs / 1000)}` });
    },
    async openVnc(guest) {
      if (guest.type === 'lxc') return containers.openVnc(guest);
      return connectUnix((await qemuOf(guest)).tapPath);
    },
    received(vmid) {
      return keyLogs.of(vmid).snapshot();
    },
    stopGuest,
    async qemuProcess(vmid): Promise<QemuProcessInfo> {
      const qemu = await guests.get(vmid);
      if (!qemu) throw new Error(`no QEMU runs for guest ${vmid}`);
      // A vCPU thread QMP names must be a thread of the process we started: proof it is the one answering.
      const cpus = await qemu.qmp.execute<{ 'thread-id': number }[]>('query-cpus-fast');
      const threadId = cpus[0]?.['thread-id'];
      if (threadId === undefined || !existsSync(`/proc/${qemu.pid}/task/${threadId}`)) {
        throw new Error(`QMP of guest ${vmid} is not answered by process ${qemu.pid}`);
      }
      const { name } = await qemu.qmp.execute<{ name: string }>('query-name');
      const vnc = await qemu.qmp.execute<{ service: string; clients: unknown[] }>('query-vnc');
      return { pid: qemu.pid, name, vncSocket: vnc.service, vncClients: vnc.clients.length };
    },
    async stop() {
      stopped = true;
      await Promise.all([...guests.keys()].map(stopGuest));
      await containers.stop();
    },
  };
}
