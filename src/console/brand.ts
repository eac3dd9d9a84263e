import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Config } from '../config/schema.js';

/** What the pages show of the operator's brand. */
export interface PageBrand {
  name: string;
  /** URL of the logo under the asset base, when there is one. */
  logoUrl?: string;
  /** URL of the style sheet with the accent colour, when there is one. */
  styleUrl?: string;
}

export interface BrandAssets {
  page: PageBrand;
  logo?: { path: string; body: Buffer; type: string };
  style?: { path: string; body: string };
}

const LOGO_TYPES: Record<string, string> = { '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

/**
 * Reads the configured brand once, at start: a logo that cannot be read or is of no image type
 * the pages can show stops the gateway with a message, rather than every page showing a broken image.
 */
export function loadBrand(brand: Config['brand'], assetBase: string): BrandAssets | null {
  if (!brand) return null;
  const assets: BrandAssets = { page: { name: brand.name } };
  if (brand.logo_file) {
    const ext = extname(brand.logo_file).toLowerCase();
    const type = LOGO_TYPES[ext];
    if (!type) throw new Error(`brand.logo_file must be an .svg, .png, .jpg or .webp file: ${brand.logo_file}`);
    let body: Buffer;
    try {
      body = readFileSync(brand.logo_file);
    } catch (error) {
      throw new Error(`brand.logo_file cannot be read: ${brand.logo_file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
    const path = `${assetBase}brand-logo${ext === '.jpeg' ? '.jpg' : ext}`;
    assets.logo = { path, body, type };
    assets.page.logoUrl = path;
  }
  if (brand.accent) {
    const path = `${assetBase}brand.css`;
    // Both themes: the light one sets its own accent, which the brand's replaces.
    const body = `:root, :root[data-theme="light"] { --accent: ${brand.accent}; --accent-hover: color-mix(in srgb, ${brand.accent} 82%, black); }\n`;
    assets.style = { path, body };
    assets.page.styleUrl = path;
  }
  return assets;
}
