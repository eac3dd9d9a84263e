/** What the settings panel changes, remembered per browser (localStorage; best effort in frames). */
export interface Settings {
  scaling: 'scale' | 'remote' | 'none';
  /** noVNC's JPEG quality and zlib compression levels, 0 to 9. */
  quality: number;
  compression: number;
  /** A dot where the remote pointer is, for guests that draw no cursor of their own. */
  dotCursor: boolean;
  fontSize: number;
  theme: 'system' | 'dark' | 'light';
}

const STORAGE_KEY = 'proxmoxvnc.settings';
/** The scaling choice of earlier pages, kept on its own before there was a settings panel. */
const OLD_SCALING_KEY = 'proxmoxvnc.scaling';

export const DEFAULT_SETTINGS: Settings = { scaling: 'scale', quality: 6, compression: 2, dotCursor: false, fontSize: 14, theme: 'system' };
export const FONT_SIZES = { min: 10, max: 24 };

const level = (value: unknown, fallback: number, min = 0, max = 9): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fallback;

function read(): Settings {
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Record<string, unknown>;
    raw.scaling ??= localStorage.getItem(OLD_SCALING_KEY) ?? undefined;
  } catch {
    // storage unavailable (e.g. blocked in a third-party frame) or not ours: the defaults
  }
  const d = DEFAULT_SETTINGS;
  return {
    scaling: raw.scaling === 'remote' || raw.scaling === 'none' || raw.scaling === 'scale' ? raw.scaling : d.scaling,
    quality: level(raw.quality, d.quality),
    compression: level(raw.compression, d.compression),
    dotCursor: typeof raw.dotCursor === 'boolean' ? raw.dotCursor : d.dotCursor,
    fontSize: level(raw.fontSize, d.fontSize, FONT_SIZES.min, FONT_SIZES.max),
    theme: raw.theme === 'dark' || raw.theme === 'light' ? raw.theme : d.theme,
  };
}

type Listener = (settings: Settings) => void;
let current: Settings | undefined;
const listeners = new Set<Listener>();

export function settings(): Settings {
  return (current ??= read());
}

/** Changes some settings for this page, and for the next ones unless `remember` is false. */
export function updateSettings(change: Partial<Settings>, remember = true): void {
  current = { ...settings(), ...change };
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(current));
    } catch {
      // storage unavailable: the choice lasts for this page only
    }
  }
  for (const listener of listeners) listener(current);
}

export function onSettings(listener: Listener): void {
  listeners.add(listener);
}

/** The theme the page shows: the setting, or the system's preference. */
export function effectiveTheme(): 'dark' | 'light' {
  const chosen = settings().theme;
  if (chosen !== 'system') return chosen;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

/** Keeps `data-theme` on the root in step with the setting and the system. */
export function applyTheme(onChange: (theme: 'dark' | 'light') => void = () => {}): void {
  const apply = (): void => {
    const theme = effectiveTheme();
    document.documentElement.dataset.theme = theme;
    onChange(theme);
  };
  matchMedia('(prefers-color-scheme: light)').addEventListener('change', apply);
  onSettings(apply);
  apply();
}
