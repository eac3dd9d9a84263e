import { randomBytes } from 'node:crypto';
import { constants, createReadStream, type ReadStream } from 'node:fs';
import { access, chmod, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordingWriter, type StopReason } from './writer.js';

export type RecordingKind = 'vnc' | 'asciicast';

/** A recording's id: 128 random bits in hex, and nothing else ever names a file. */
export const RECORDING_ID = /^[0-9a-f]{32}$/;

const EXTENSION: Record<RecordingKind, string> = { vnc: '.pvncrec', asciicast: '.cast' };
const CONTENT_TYPE: Record<RecordingKind, string> = { vnc: 'application/octet-stream', asciicast: 'application/x-asciicast' };
const SIDECAR = '.json';
/** Sidecars `list` reads together: the readers share one queue of ids. */
const LIST_READS_AT_ONCE = 16;

/** Who and what was recorded, known when the recording begins. */
export interface RecordingSubject {
  sessionId: string;
  tag?: string;
  vmid: number;
  node?: string;
}

/** The sidecar `<id>.json` beside each recording, and a line of `GET /recordings`. */
export interface RecordingInfo {
  id: string;
  kind: RecordingKind;
  session_id: string;
  tag: string | null;
  vmid: number;
  node: string | null;
  started_at: string;
  /** Absent while the connection lasts, and after a crash. */
  ended_at?: string;
  /** Seconds: to the end, or to the last write when it has not ended (recording, or crashed). */
  duration: number;
  /** Bytes of the recording file. */
  size: number;
  /** Set when the recording stopped before its connection ended: `size_limit`, `disk_too_slow`, `write_failed`. */
  stopped?: StopReason;
}

export interface RecordingStoreOptions {
  dir: string;
  maxBytes: number;
  retentionDays: number;
  now?: () => number;
  onError(what: string, error: Error): void;
}

/** A recording being written: its bytes go through `write`, `finish` closes it and its sidecar. */
export interface ActiveRecording {
  readonly id: string;
  write(bytes: Buffer): boolean;
  /** The recording's clock: milliseconds since it began. */
  elapsed(): number;
  finish(): Promise<void>;
}

/**
 * The recordings in `recording_dir`: one file per viewer connection (mode 0600, the folder 0700)
 * with a JSON sidecar, listed, read, deleted and swept after `recording_retention` days.
 */
export class RecordingStore {
  private readonly now: () => number;
  private readonly active = new Map<string, ActiveRecording>();

  constructor(private readonly options: RecordingStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Makes the folder, private to the gateway's user; throws with the reason when it cannot. */
  async prepare(): Promise<void> {
    // An existing folder keeps the mode its owner chose; the files are 0600 whatever it is.
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    await access(this.options.dir, constants.W_OK | constants.X_OK);
  }

  /**
   * Begins a recording at once, its file starting with `header`: what is written while the file
   * is being opened waits. `closingNote` gives the bytes that end a recording stopped early (at
   * most `noteRoom` long).
   */
  begin(
    kind: RecordingKind,
    subject: RecordingSubject,
    header: Buffer,
    notes: { noteRoom: number; closingNote(reason: StopReason, elapsedMs: number): Buffer },
  ): ActiveRecording {
    const id = randomBytes(16).toString('hex');
    const startedAt = this.now();
    const info: RecordingInfo = {
      id,
      kind,
      session_id: subject.sessionId,
      tag: subject.tag ?? null,
      vmid: subject.vmid,
      node: subject.node ?? null,
      started_at: new Date(startedAt).toISOString(),
      duration: 0,
      size: 0,
    };
    const file = (async () => {
      await this.writeSidecar(info);
      // O_EXCL: never another's file; 0600 whatever the umask leaves (it can only take bits away).
      return open(this.dataPath(id, kind), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    })();
    const elapsed = () => this.now() - startedAt;
    const writer = new RecordingWriter(file, {
      maxBytes: this.options.maxBytes,
      noteRoom: notes.noteRoom,
      closingNote: (reason) => notes.closingNote(reason, elapsed()),
      onError: (error) => this.options.onError('writing a recording', error),
    });
    writer.write(Buffer.from(header));
    let finished: Promise<void> | undefined;
    const recording: ActiveRecording = {
      id,
      write: (bytes) => writer.write(bytes),
      elapsed,
      finish: () =>
        (finished ??= (async () => {
          await writer.close();
          const endedAt = this.now();
          if (writer.stopReason !== 'write_failed' || (await file.then(() => true, () => false))) {
            await this.writeSidecar({
              ...info,
              ended_at: new Date(endedAt).toISOString(),
              duration: (endedAt - startedAt) / 1000,
              size: writer.size,
              ...(writer.stopReason ? { stopped: writer.stopReason } : {}),
            }).catch((error: Error) => this.options.onError('writing a recording', error));
          }
          this.active.delete(id);
        })()),
    };
    this.active.set(id, recording);
    return recording;
  }

  /** Every recording, newest first. */
  async list(): Promise<RecordingInfo[]> {
    const names = await readdir(this.options.dir);
    const ids = names.filter((name) => name.endsWith(SIDECAR)).map((name) => name.slice(0, -SIDECAR.length)).filter((id) => RECORDING_ID.test(id));
    // A few sidecars at a time: thousands at once run out of descriptors, and info() takes a read
    // that fails (EMFILE too) for no recording, so they would vanish from the list unsaid.
    const infos: RecordingInfo[] = [];
    const next = ids.values();
    const reader = async () => {
      for (const id of next) {
        const info = await this.info(id);
        if (info) infos.push(info);
      }
    };
    await Promise.all(Array.from({ length: LIST_READS_AT_ONCE }, reader));
    return infos.sort((a, b) => b.started_at.localeCompare(a.started_at));
  }

  /** A recording's description with its size and duration as they are on disk now; null when unknown. */
  async info(id: string): Promise<RecordingInfo | null> {
    if (!RECORDING_ID.test(id)) return null;
    let info: RecordingInfo;
    try {
      info = JSON.parse(await readFile(this.sidecarPath(id), 'utf8')) as RecordingInfo;
    } catch {
      return null;
    }
    if (info.id !== id || !Object.hasOwn(EXTENSION, info.kind)) return null;
    try {
      const data = await stat(this.dataPath(id, info.kind));
      if (info.ended_at !== undefined) return { ...info, size: data.size };
      return { ...info, size: data.size, duration: Math.max(0, (data.mtimeMs - Date.parse(info.started_at)) / 1000) };
    } catch {
      return null;
    }
  }

  /** The file's bytes, its content type and its name, or null when there is no such recording. */
  async read(id: string): Promise<{ info: RecordingInfo; stream: ReadStream; contentType: string; fileName: string } | null> {
    const info = await this.info(id);
    if (!info) return null;
    const path = this.dataPath(id, info.kind);
    return { info, stream: createReadStream(path), contentType: CONTENT_TYPE[info.kind], fileName: `${id}${EXTENSION[info.kind]}` };
  }

  /** The whole file (the player takes it at once), or null. */
  async bytes(id: string): Promise<{ info: RecordingInfo; body: Buffer } | null> {
    const info = await this.info(id);
    if (!info) return null;
    return { info, body: await readFile(this.dataPath(id, info.kind)) };
  }

  /** False when there was no such recording; one being written is finished first. */
  async delete(id: string): Promise<boolean> {
    const info = await this.info(id);
    if (!info) return false;
    await this.active.get(id)?.finish();
    await this.remove(id, info.kind);
    return true;
  }

  /**
   * Deletes the recordings last written more than `recording_retention` days ago (a recording
   * being written is never among them); returns how many.
   */
  async sweep(): Promise<number> {
    const cutoff = this.now() - this.options.retentionDays * 86_400_000;
    let removed = 0;
    for (const name of await readdir(this.options.dir)) {
      if (!name.endsWith(SIDECAR)) continue;
      const id = name.slice(0, -SIDECAR.length);
      if (!RECORDING_ID.test(id) || this.active.has(id)) continue;
      const info = await this.info(id);
      const kind = info?.kind;
      // A sidecar without its file (a crash between the two) goes by its own age.
      const written = (await stat(kind ? this.dataPath(id, kind) : this.sidecarPath(id)).catch(() => null))?.mtimeMs;
      if (written === undefined || written > cutoff) continue;
      await this.remove(id, kind);
      removed++;
    }
    return removed;
  }

  /** Finishes every recording being written (the gateway is stopping). */
  async close(): Promise<void> {
    await Promise.all([...this.active.values()].map((recording) => recording.finish()));
  }

  private async remove(id: string, kind: RecordingKind | undefined): Promise<void> {
    const gone = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    };
    if (kind) await unlink(this.dataPath(id, kind)).catch(gone);
    await unlink(this.sidecarPath(id)).catch(gone);
  }

  private async writeSidecar(info: RecordingInfo): Promise<void> {
    // Whole or not at all: a crash mid-write must not leave half a sidecar.
    const temporary = `${this.sidecarPath(info.id)}.tmp`;
    await writeFile(temporary, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.sidecarPath(info.id));
  }

  private dataPath(id: string, kind: RecordingKind): string {
    return join(this.options.dir, `${id}${EXTENSION[kind]}`);
  }

  private sidecarPath(id: string): string {
    return join(this.options.dir, `${id}${SIDECAR}`);
  }
}
