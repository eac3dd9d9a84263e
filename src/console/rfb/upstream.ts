import type { ByteReader } from './byte-reader.js';
import { vncAuthResponse } from './des.js';
import { RfbAuthFailedError, RfbProtocolError } from './errors.js';
import { decodeReason } from './text.js';
import { parseRfbVersion, RFB_3_8, VERSION_LENGTH } from './version.js';

const SECURITY_VNC_AUTH = 2;
const CHALLENGE_LENGTH = 16;
const MAX_REASON_BYTES = 4096;

/**
 * The client side of the RFB handshake toward Proxmox (QEMU or vncterm), up to and including a
 * successful SecurityResult. Throws RfbAuthFailedError when the password is refused and
 * RfbProtocolError when the server does something else than Proxmox's servers do.
 */
export async function authenticateUpstream(reader: ByteReader, send: (bytes: Buffer) => void, password: string): Promise<void> {
  const version = parseRfbVersion(await reader.read(VERSION_LENGTH));
  if (version.major !== 3 || version.minor < 8) {
    throw new RfbProtocolError(`the VNC server speaks RFB ${version.major}.${version.minor}; 3.8 is required`);
  }
  send(RFB_3_8);

  const count = await reader.readU8();
  if (count === 0) {
    const reason = decodeReason(await reader.readLengthPrefixed(MAX_REASON_BYTES, 'connection failure reason'));
    throw new RfbProtocolError(`the VNC server refused the connection: ${reason}`);
  }
  const types = [...(await reader.read(count))];
  if (!types.includes(SECURITY_VNC_AUTH)) {
    throw new RfbProtocolError(`the VNC server offers security types [${types.join(', ')}], expected ${SECURITY_VNC_AUTH} (VNC authentication)`);
  }
  send(Buffer.from([SECURITY_VNC_AUTH]));

  const challenge = await reader.read(CHALLENGE_LENGTH);
  send(vncAuthResponse(password, challenge));

  const result = await reader.readU32();
  if (result !== 0) {
    throw new RfbAuthFailedError(decodeReason(await reader.readLengthPrefixed(MAX_REASON_BYTES, 'authentication failure reason')));
  }
}
