import type { ByteReader } from './byte-reader.js';
import { RfbProtocolError } from './errors.js';
import { truncateUtf8 } from './text.js';
import { parseRfbVersion, RFB_3_8, VERSION_LENGTH } from './version.js';

/** The client versions the gateway serves; noVNC speaks 3.8. */
export type BrowserRfbVersion = '3.3' | '3.7' | '3.8';

const SECURITY_NONE = 1;
const MAX_REASON_BYTES = 1024;

/**
 * The server side of the RFB handshake toward the browser, offering security type None, up to
 * the point where SecurityResult is due (which waits for the upstream's authentication).
 */
export async function negotiateBrowserSecurity(reader: ByteReader, send: (bytes: Buffer) => void): Promise<BrowserRfbVersion> {
  send(RFB_3_8);
  const { major, minor } = parseRfbVersion(await reader.read(VERSION_LENGTH));
  const version = major === 3 && (minor === 3 || minor === 7 || minor === 8) ? (`3.${minor}` as BrowserRfbVersion) : undefined;
  if (!version) throw new RfbProtocolError(`the browser asked for RFB ${major}.${minor}; 3.3, 3.7 and 3.8 are served`);

  if (version === '3.3') {
    // 3.3 has no list to choose from: the server names the one security type.
    const type = Buffer.alloc(4);
    type.writeUInt32BE(SECURITY_NONE);
    send(type);
    return version;
  }
  send(Buffer.from([1, SECURITY_NONE]));
  const choice = await reader.readU8();
  if (choice !== SECURITY_NONE) throw new RfbProtocolError(`the browser chose security type ${choice}, only ${SECURITY_NONE} (None) is offered`);
  return version;
}

/** SecurityResult "OK" for the version (only 3.8 sends one after None). */
export function securityResultOk(version: BrowserRfbVersion): Buffer {
  return version === '3.8' ? Buffer.alloc(4) : Buffer.alloc(0);
}

/**
 * SecurityResult "failed" with a reason the browser shows (noVNC: `securityfailure`), or null when
 * the version has no way to carry it and the connection can only be closed.
 */
export function securityResultFailure(version: BrowserRfbVersion, reason: string): Buffer | null {
  if (version !== '3.8') return null;
  const text = truncateUtf8(reason, MAX_REASON_BYTES);
  const out = Buffer.alloc(8 + text.length);
  out.writeUInt32BE(1, 0);
  out.writeUInt32BE(text.length, 4);
  text.copy(out, 8);
  return out;
}
