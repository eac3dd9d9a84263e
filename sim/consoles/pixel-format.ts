// RFB pixel formats: parsing a client's choice and converting framebuffer regions to it.
import { endianness } from 'node:os';
import type { Framebuffer, Region } from './framebuffer.js';

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** QEMU's default: 32 bpp, depth 24, little-endian true colour, 0x00RRGGBB. */
export const NATIVE_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bitsPerPixel;
  b[1] = pf.depth;
  b[2] = pf.bigEndian ? 1 : 0;
  b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b[10] = pf.redShift;
  b[11] = pf.greenShift;
  b[12] = pf.blueShift;
  return b;
}

/**
 * A client's SetPixelFormat, as QEMU takes it: only 8, 16 and 32 bpp (undefined otherwise: the
 * client is dropped); a colour-map request gets QEMU's fixed 8-bit BGR233 palette instead.
 */
export function parseClientPixelFormat(b: Buffer): PixelFormat | undefined {
  const bitsPerPixel = b[0]!;
  if (bitsPerPixel !== 8 && bitsPerPixel !== 16 && bitsPerPixel !== 32) return undefined;
  if (b[3] === 0) {
    return { bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 };
  }
  const pf: PixelFormat = {
    bitsPerPixel,
    depth: b[1]!,
    bigEndian: b[2] !== 0,
    trueColour: true,
    redMax: b.readUInt16BE(4),
    greenMax: b.readUInt16BE(6),
    blueMax: b.readUInt16BE(8),
    redShift: b[10]!,
    greenShift: b[11]!,
    blueShift: b[12]!,
  };
  const fits = (max: number, shift: number) => shift < 32 && max <= 0xffff && max * 2 ** shift < 2 ** bitsPerPixel;
  if (!fits(pf.redMax, pf.redShift) || !fits(pf.greenMax, pf.greenShift) || !fits(pf.blueMax, pf.blueShift)) return undefined;
  return pf;
}

const hostIsLittleEndian = endianness() === 'LE';

function isNative(pf: PixelFormat): boolean {
  return hostIsLittleEndian && (Object.keys(NATIVE_FORMAT) as (keyof PixelFormat)[]).every((key) => pf[key] === NATIVE_FORMAT[key]);
}

/** For each 8-bit channel value, its bits in the target format. */
function channelTable(max: number, shift: number): Uint32Array {
  return Uint32Array.from({ length: 256 }, (_, value) => (Math.round((value * max) / 255) * 2 ** shift) >>> 0);
}

/** The region's pixels as raw-encoding data in the given format. */
export function encodeRegion(fb: Framebuffer, region: Region, pf: PixelFormat): Buffer {
  const bytes = pf.bitsPerPixel / 8;
  const out = Buffer.allocUnsafe(region.w * region.h * bytes);
  if (isNative(pf)) {
    for (let row = 0; row < region.h; row++) {
      const start = ((region.y + row) * fb.width + region.x) * 4;
      fb.pixels.copy(out, row * region.w * 4, start, start + region.w * 4);
    }
    return out;
  }
  const red = channelTable(pf.redMax, pf.redShift);
  const green = channelTable(pf.greenMax, pf.greenShift);
  const blue = channelTable(pf.blueMax, pf.blueShift);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const littleEndian = !pf.bigEndian;
  let at = 0;
  for (let y = region.y; y < region.y + region.h; y++) {
    const rowStart = y * fb.width;
    for (let x = region.x; x < region.x + region.w; x++) {
      const rgb = fb.words[rowStart + x]!;
      const value = (red[rgb >>> 16]! | green[(rgb >>> 8) & 0xff]! | blue[rgb & 0xff]!) >>> 0;
      if (bytes === 4) view.setUint32(at, value, littleEndian);
      else if (bytes === 2) view.setUint16(at, value, littleEndian);
      else view.setUint8(at, value);
      at += bytes;
    }
  }
  return out;
}
