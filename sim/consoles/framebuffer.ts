// The pixels of a simulated guest display, with change notification for the viewers.
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from './font.js';

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function unionRegion(a: Region | undefined, b: Region): Region {
  if (!a) return b;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

export function intersectRegion(a: Region, b: Region): Region | undefined {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : undefined;
}

export function containsRegion(outer: Region, inner: Region): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

/** Horizontal and vertical space a character takes at scale 1, spacing included. */
export const CELL_WIDTH = GLYPH_WIDTH + 1;
export const CELL_HEIGHT = GLYPH_HEIGHT + 1;

export class Framebuffer {
  /** One 0x00RRGGBB word per pixel, row by row. */
  readonly words: Uint32Array;
  /** The same memory as bytes: in host order, which on little-endian hosts is QEMU's default wire format. */
  readonly pixels: Buffer;
  readonly bounds: Region;
  private readonly listeners = new Set<(changed: Region) => void>();

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.words = new Uint32Array(width * height);
    this.pixels = Buffer.from(this.words.buffer);
    this.bounds = { x: 0, y: 0, w: width, h: height };
  }

  fill(region: Region, rgb: number): void {
    const clipped = intersectRegion(region, this.bounds);
    if (!clipped) return;
    for (let y = clipped.y; y < clipped.y + clipped.h; y++) {
      const start = y * this.width + clipped.x;
      this.words.fill(rgb, start, start + clipped.w);
    }
  }

  /** Draws text in the 5x7 font, each font pixel a scale-by-scale square; clipped at the edges. */
  drawText(text: string, x: number, y: number, scale: number, rgb: number): void {
    let left = x;
    for (const ch of text) {
      this.drawGlyph(ch, left, y, scale, scale, rgb);
      left += CELL_WIDTH * scale;
    }
  }

  /** One character of the 5x7 font, each font pixel scaleX wide and scaleY high. */
  drawGlyph(ch: string, x: number, y: number, scaleX: number, scaleY: number, rgb: number): void {
    glyphRows(ch).forEach((bits, row) => {
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (bits & (0x10 >> col)) this.fill({ x: x + col * scaleX, y: y + row * scaleY, w: scaleX, h: scaleY }, rgb);
      }
    });
  }

  onChange(listener: (changed: Region) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the viewers which part was redrawn. */
  changed(region: Region): void {
    const clipped = intersectRegion(region, this.bounds);
    if (clipped) for (const listener of this.listeners) listener(clipped);
  }
}
