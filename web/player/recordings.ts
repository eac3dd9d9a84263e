// Reading the two recording formats of docs/recordings.md in the browser.

/** A recording as the player replays it: events in time order, each applied by the renderer. */
export interface Timeline {
  /** Milliseconds from the start, one per event, never decreasing. */
  times: number[];
  durationMs: number;
  /** Notes the recording carries about itself (e.g. it stopped at its size limit). */
  notes: string[];
}

export interface VncTimeline extends Timeline {
  serverInit: Uint8Array;
  /** What the browser was sent, one entry per event. */
  frames: Uint8Array[];
}

export interface CastTimeline extends Timeline {
  width: number;
  height: number;
  /** Terminal output, one entry per event. */
  output: string[];
}

const MAGIC = 'PVNCREC\x01';
const RECORD_HEADER = 9;
const TO_BROWSER = 0;
const NOTE = 2;

export function readVncRecording(file: ArrayBuffer, durationMs: number): VncTimeline {
  const view = new DataView(file);
  const bytes = new Uint8Array(file);
  if (file.byteLength < MAGIC.length + 4 || String.fromCharCode(...bytes.subarray(0, MAGIC.length)) !== MAGIC) throw new Error('not a VNC recording');
  const initLength = view.getUint32(MAGIC.length);
  let at = MAGIC.length + 4;
  const serverInit = bytes.subarray(at, at + initLength);
  at += initLength;
  const timeline: VncTimeline = { serverInit, frames: [], times: [], notes: [], durationMs };
  const text = new TextDecoder();
  let last = 0;
  // A last record cut by a crash is left out.
  while (at + RECORD_HEADER <= bytes.length) {
    const ms = view.getUint32(at);
    const type = view.getUint8(at + 4);
    const length = view.getUint32(at + 5);
    const payload = bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    if (payload.length < length) break;
    at += RECORD_HEADER + length;
    last = Math.max(last, ms);
    if (type === TO_BROWSER) {
      timeline.times.push(ms);
      timeline.frames.push(payload);
    } else if (type === NOTE) {
      timeline.notes.push(text.decode(payload));
    }
  }
  timeline.durationMs = Math.max(durationMs, last);
  return timeline;
}

export function readAsciicast(file: string, durationMs: number): CastTimeline {
  const lines = file.split('\n').filter((line) => line.trim() !== '');
  const header = JSON.parse(lines[0] ?? '{}') as { version?: number; width?: number; height?: number };
  if (header.version !== 2) throw new Error('not an asciicast v2 recording');
  const timeline: CastTimeline = { width: header.width ?? 80, height: header.height ?? 24, output: [], times: [], notes: [], durationMs };
  let last = 0;
  for (const line of lines.slice(1)) {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      break; // a line cut by a crash
    }
    if (!Array.isArray(event) || typeof event[0] !== 'number' || typeof event[2] !== 'string') continue;
    const ms = Math.round(event[0] * 1000);
    last = Math.max(last, ms);
    if (event[1] === 'o') {
      timeline.times.push(ms);
      timeline.output.push(event[2]);
    } else if (event[1] === 'm') {
      timeline.notes.push(event[2]);
    }
  }
  timeline.durationMs = Math.max(durationMs, last);
  return timeline;
}
