/**
 * Key caps as PC keyboards print them, the same in most languages; a catalog overrides the ones
 * its keyboards label otherwise (German Strg, French Échap).
 */
export const KEY_CAPS = {
  'key.ctrl': 'Ctrl',
  'key.alt': 'Alt',
  'key.super': 'Win',
  'key.fn': 'Fn',
  'key.esc': 'Escape',
  'key.tab': 'Tab',
} as const;
