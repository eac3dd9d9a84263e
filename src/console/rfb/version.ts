import { RfbProtocolError } from './errors.js';

export const VERSION_LENGTH = 12;
/** The only version this gateway speaks as a server, and asks for as a client. */
export const RFB_3_8 = Buffer.from('RFB 003.008\n', 'latin1');

export interface RfbVersion {
  major: number;
  minor: number;
}

export function parseRfbVersion(bytes: Buffer): RfbVersion {
  const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(bytes.toString('latin1'));
  if (!match) throw new RfbProtocolError('the peer did not send an RFB protocol version');
  return { major: Number(match[1]), minor: Number(match[2]) };
}
