import { de } from './de.js';
import { en, type Catalog, type MessageKey } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';
import { it } from './it.js';
import { nl } from './nl.js';
import { pl } from './pl.js';
import { pt } from './pt.js';
import { fill } from './fill.js';

export type { Catalog, MessageKey };

/** Every catalog, by its language tag; one file per language. */
export const CATALOGS: Readonly<Record<string, Catalog>> = { en, de, fr, es, it, nl, pt, pl };

export const DEFAULT_LANGUAGE = 'en';

/** The languages the pages speak, as `/create`'s `lang` accepts them. */
export const LANGUAGES = Object.keys(CATALOGS);

/** The primary subtag of a BCP 47 tag ("de-CH" gives "de"), when a catalog speaks it. */
function supported(tag: string): string | undefined {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return Object.hasOwn(CATALOGS, primary) ? primary : undefined;
}

/**
 * The language of a page: the link's `lang` when it has one, else the first of the browser's
 * `Accept-Language` (by quality, then order) a catalog speaks, else English.
 */
export function pickLanguage(linkLang: string | undefined, acceptLanguage: string | undefined): string {
  if (linkLang !== undefined) return supported(linkLang) ?? DEFAULT_LANGUAGE;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .slice(0, 32)
    .map((part, index) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag !== '' && entry.tag !== '*' && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const entry of ranked) {
    const lang = supported(entry.tag);
    if (lang) return lang;
  }
  return DEFAULT_LANGUAGE;
}

export function catalogFor(lang: string): Catalog {
  return CATALOGS[lang] ?? en;
}

/** A catalog's text with its `{name}` placeholders filled. */
export function translate(catalog: Catalog, key: MessageKey, values: Record<string, string | number> = {}): string {
  return fill(catalog[key], values);
}
