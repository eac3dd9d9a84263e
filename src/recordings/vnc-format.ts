/**
 * The container of a VNC recording (docs/recordings.md): the ServerInit the browser got, then
 * timestamped records of what went each way once the handshake was over. No byte of the RFB
 * handshake before ServerInit is in it: not the upstream's challenge, nor anything derived from
 * the VNC password.
 */

/** "PVNCREC" and the format's version. */
export const VNC_MAGIC = Buffer.from('PVNCREC\x01', 'latin1');
/** Magic, then the ServerInit's length (u32). */
export const VNC_HEADER_FIXED = VNC_MAGIC.length + 4;
/** Milliseconds since the ServerInit (u32), record type (u8), payload length (u32). */
export const RECORD_HEADER = 9;

export const enum VncRecordType {
  /** Bytes the gateway relayed to the browser (RFB server messages). */
  ToBrowser = 0,
  /** A browser message as forwarded upstream, after the gateway's checks. */
  FromBrowser = 1,
  /** UTF-8 text about the recording itself, e.g. that its size limit was reached. */
  Note = 2,
}

export function vncHeader(serverInit: Buffer): Buffer {
  const header = Buffer.allocUnsafe(VNC_HEADER_FIXED + serverInit.length);
  VNC_MAGIC.copy(header, 0);
  header.writeUInt32BE(serverInit.length, VNC_MAGIC.length);
  serverInit.copy(header, VNC_HEADER_FIXED);
  return header;
}

/** One record, copied out of `payload` (the relay reuses its read buffers). */
export function vncRecord(ms: number, type: VncRecordType, payload: Buffer): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  record.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.floor(ms))), 0);
  record.writeUInt8(type, 4);
  record.writeUInt32BE(payload.length, 5);
  payload.copy(record, RECORD_HEADER);
  return record;
}

export interface VncRecording {
  serverInit: Buffer;
  records: { ms: number; type: VncRecordType; payload: Buffer }[];
}

/** Reads a recording back (tests; the player has its own reader in web/player/). A cut last record is left out. */
export function parseVncRecording(file: Buffer): VncRecording {
  if (file.length < VNC_HEADER_FIXED || !file.subarray(0, VNC_MAGIC.length).equals(VNC_MAGIC)) throw new Error('not a VNC recording');
  const initLength = file.readUInt32BE(VNC_MAGIC.length);
  const serverInit = file.subarray(VNC_HEADER_FIXED, VNC_HEADER_FIXED + initLength);
  const records: VncRecording['records'] = [];
  let at = VNC_HEADER_FIXED + initLength;
  while (at + RECORD_HEADER <= file.length) {
    const length = file.readUInt32BE(at + 5);
    if (at + RECORD_HEADER + length > file.length) break;
    records.push({ ms: file.readUInt32BE(at), type: file.readUInt8(at + 4) as VncRecordType, payload: file.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length) });
    at += RECORD_HEADER + length;
  }
  return { serverInit, records };
}
