import type { Page } from 'playwright-core';

/** The page's DOM, as far as the in-page callback uses it (the test program has no DOM types). */
declare const document: { querySelectorAll(selector: string): Iterable<{ textContent: string | null }> };

/** The terminal's rows as xterm.js's DOM renderer shows them, without trailing blanks. */
export function screenRows(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}
