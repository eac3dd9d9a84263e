import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../log.js';
import type { ActiveRecording, RecordingStore, RecordingSubject } from './store.js';
import { vncHeader, vncRecord, VncRecordType } from './vnc-format.js';
import type { StopReason } from './writer.js';

/** What the closing note of a recording stopped early says. */
const STOP_TEXT: Record<StopReason, string> = {
  size_limit: 'recording stopped: recording_max_bytes reached',
  disk_too_slow: 'recording stopped: the disk did not keep up',
  write_failed: 'recording stopped: the file could not be written',
};
const NOTE_ROOM = 128;

/** One viewer connection of a graphical console, as the relay and the bridge see it. */
export interface VncRecorder {
  /** Bytes relayed to the browser; copied before this returns (the relay reuses its buffers). */
  toBrowser(chunk: Buffer): void;
  /** A browser message as forwarded upstream. */
  fromBrowser(message: Buffer): void;
  finish(): Promise<void>;
}

/** One viewer connection of a text console: the terminal output this viewer was sent. */
export interface TermRecorder {
  output(bytes: Buffer): void;
  finish(): Promise<void>;
}

/** The nominal size in the asciicast header: the gateway does not see the viewer's terminal size. */
const CAST_WIDTH = 80;
const CAST_HEIGHT = 24;

/** Makes the recorder of each viewer connection of a session that asked for `record`. */
export class Recorders {
  constructor(
    private readonly store: RecordingStore,
    private readonly log: Logger,
  ) {}

  /** From the ServerInit as the browser got it: nothing of the handshake before it is recorded. */
  vnc(subject: RecordingSubject, serverInit: Buffer): VncRecorder {
    const recording = this.store.begin('vnc', subject, vncHeader(serverInit), {
      noteRoom: NOTE_ROOM,
      closingNote: (reason, ms) => vncRecord(ms, VncRecordType.Note, Buffer.from(STOP_TEXT[reason])),
    });
    this.began(recording, subject);
    return {
      toBrowser: (chunk) => {
        recording.write(vncRecord(recording.elapsed(), VncRecordType.ToBrowser, chunk));
      },
      fromBrowser: (message) => {
        recording.write(vncRecord(recording.elapsed(), VncRecordType.FromBrowser, message));
      },
      finish: () => recording.finish(),
    };
  }

  /** Asciicast v2: a header line, then `[seconds, "o", text]` for each piece of output. */
  term(subject: RecordingSubject, title: string): TermRecorder {
    const header = {
      version: 2,
      width: CAST_WIDTH,
      height: CAST_HEIGHT,
      timestamp: Math.floor(Date.now() / 1000),
      title,
      env: { TERM: 'xterm-256color' },
    };
    const event = (ms: number, type: 'o' | 'm', text: string) => Buffer.from(`${JSON.stringify([ms / 1000, type, text])}\n`);
    const recording = this.store.begin('asciicast', subject, Buffer.from(`${JSON.stringify(header)}\n`), {
      noteRoom: NOTE_ROOM,
      // A marker event: players show it, and the file stays valid asciicast.
      closingNote: (reason, ms) => event(ms, 'm', STOP_TEXT[reason]),
    });
    this.began(recording, subject);
    // Output is bytes; a character cut between two pieces is joined before it is written.
    const decoder = new StringDecoder('utf8');
    return {
      output: (bytes) => {
        const text = decoder.write(bytes);
        if (text !== '') recording.write(event(recording.elapsed(), 'o', text));
      },
      finish: () => {
        const rest = decoder.end();
        if (rest !== '') recording.write(event(recording.elapsed(), 'o', rest));
        return recording.finish();
      },
    };
  }

  private began(recording: ActiveRecording, subject: RecordingSubject): void {
    this.log.child('RECORD', { session: subject.sessionId }).info('recording', { recording: recording.id });
  }
}
