import type { ITheme } from '@xterm/xterm';

/** The console page's dark palette (web/shared/console.css) for the terminal. */
const DARK: ITheme = {
  background: '#0c0e11',
  foreground: '#e6e8eb',
  cursor: '#e6e8eb',
  cursorAccent: '#0c0e11',
  selectionBackground: '#3f7ef666',
  selectionInactiveBackground: '#3f7ef633',
  black: '#1b1f25',
  red: '#f0584f',
  green: '#34c47c',
  yellow: '#f2a93b',
  blue: '#3f7ef6',
  magenta: '#c678dd',
  cyan: '#3fb8c8',
  white: '#c9ced6',
  brightBlack: '#5c6470',
  brightRed: '#ff7a72',
  brightGreen: '#5ad99a',
  brightYellow: '#ffc46b',
  brightBlue: '#6f9ff9',
  brightMagenta: '#d89bea',
  brightCyan: '#6fd2de',
  brightWhite: '#ffffff',
};

/** The light palette: dark text on the page's light background, colours deep enough to read on it. */
const LIGHT: ITheme = {
  background: '#f3f4f6',
  foreground: '#1f2328',
  cursor: '#1f2328',
  cursorAccent: '#f3f4f6',
  selectionBackground: '#2f6fed44',
  selectionInactiveBackground: '#2f6fed22',
  black: '#1f2328',
  red: '#c62828',
  green: '#1a7f37',
  yellow: '#9a6700',
  blue: '#0969da',
  magenta: '#8250df',
  cyan: '#1b7c83',
  white: '#6e7781',
  brightBlack: '#57606a',
  brightRed: '#a40e26',
  brightGreen: '#116329',
  brightYellow: '#7d4e00',
  brightBlue: '#0550ae',
  brightMagenta: '#6639ba',
  brightCyan: '#136061',
  brightWhite: '#8c959f',
};

export const TERMINAL_THEMES: Record<'dark' | 'light', ITheme> = { dark: DARK, light: LIGHT };

export const TERMINAL_FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace';
