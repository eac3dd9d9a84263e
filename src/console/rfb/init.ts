import type { ByteReader } from './byte-reader.js';
import { truncateUtf8 } from './text.js';

/** ClientInit as sent upstream: shared=1 always, since shared=0 would disconnect other viewers of the VM. */
export const SHARED_CLIENT_INIT = Buffer.from([1]);

/** Reads the browser's ClientInit; its shared flag is deliberately not forwarded. */
export async function readClientInit(reader: ByteReader): Promise<void> {
  await reader.read(1);
}

// width, height (U16 each) and the 16-byte pixel format.
const SERVER_INIT_FIXED = 20;
const MAX_UPSTREAM_NAME_BYTES = 16 * 1024;
export const MAX_TITLE_BYTES = 256;

/**
 * Reads the upstream's ServerInit and returns it with the desktop name replaced by `title`, so
 * the browser never sees the name Proxmox chose.
 */
export async function readServerInitRenamed(reader: ByteReader, title: string): Promise<Buffer> {
  const fixed = await reader.read(SERVER_INIT_FIXED);
  await reader.readLengthPrefixed(MAX_UPSTREAM_NAME_BYTES, 'ServerInit name');
  const name = truncateUtf8(title, MAX_TITLE_BYTES);
  const out = Buffer.alloc(SERVER_INIT_FIXED + 4 + name.length);
  fixed.copy(out, 0);
  out.writeUInt32BE(name.length, SERVER_INIT_FIXED);
  name.copy(out, SERVER_INIT_FIXED + 4);
  return out;
}
