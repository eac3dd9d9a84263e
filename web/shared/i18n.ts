import type { MessageKey } from '../../src/console/i18n/en.js';
import { fill } from '../../src/console/i18n/fill.js';
import { readConsoleOptions } from './options.js';

export type { MessageKey };

/**
 * The page's words: the gateway renders the catalog of the page's language (complete, English
 * where a translation lacks a key) into the options block, so the bundle carries no catalog.
 */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  return fill(readConsoleOptions().strings[key] ?? key, values);
}
