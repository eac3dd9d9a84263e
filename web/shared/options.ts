import type { MessageKey } from '../../src/console/i18n/en.js';
import { isPowerAction, type PowerAction } from './power.js';

/** The page options the server renders into `#console-options` (src/console/pages.ts). */
export interface ConsoleOptions {
  sessionId: string;
  title: string;
  consoleKind: 'novnc' | 'xterm';
  viewOnly: boolean;
  /** BCP 47 tag of the page's language, e.g. "de". */
  lang: string;
  strings: Partial<Record<MessageKey, string>>;
  /** The CSP nonce for style elements the page's scripts create (xterm.js), when it has one. */
  styleNonce?: string;
  /** `frame_ancestors`, for the events a framed page posts to its parent. */
  frameAncestors: string[];
  /** The operator's brand: its name in the title, its logo in the toolbar. */
  brand?: { name: string; logoUrl?: string };
  /** The power actions the link allows. */
  power: PowerAction[];
}

let parsed: ConsoleOptions | undefined;

function brandOf(raw: unknown): Pick<ConsoleOptions, 'brand'> {
  if (typeof raw !== 'object' || raw === null) return {};
  const { name, logoUrl } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return {};
  return { brand: typeof logoUrl === 'string' ? { name, logoUrl } : { name } };
}

/** Read once: every module asks, the block never changes. */
export function readConsoleOptions(): ConsoleOptions {
  if (parsed) return parsed;
  const block = document.getElementById('console-options');
  const raw: unknown = JSON.parse(block?.textContent ?? 'null');
  if (typeof raw !== 'object' || raw === null) throw new Error('console options are missing');
  const data = raw as Record<string, unknown>;
  if (typeof data.sessionId !== 'string' || data.sessionId === '') throw new Error('console options have no session id');
  const strings = typeof data.strings === 'object' && data.strings !== null ? (data.strings as ConsoleOptions['strings']) : {};
  parsed = {
    sessionId: data.sessionId,
    title: typeof data.title === 'string' && data.title !== '' ? data.title : 'Console',
    consoleKind: data.consoleKind === 'xterm' ? 'xterm' : 'novnc',
    viewOnly: data.viewOnly === true,
    lang: typeof data.lang === 'string' ? data.lang : 'en',
    strings,
    ...brandOf(data.brand),
    power: Array.isArray(data.power) ? data.power.filter(isPowerAction) : [],
    frameAncestors: Array.isArray(data.frameAncestors) ? data.frameAncestors.filter((a): a is string => typeof a === 'string') : [],
    ...(typeof data.styleNonce === 'string' && data.styleNonce !== '' ? { styleNonce: data.styleNonce } : {}),
  };
  return parsed;
}
