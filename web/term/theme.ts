import type { ITheme } from '@xterm/xterm';

/** The console page's dark palette (web/shared/console.css) for the terminal. */
export const TERMINAL_THEME: ITheme = {
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

export const TERMINAL_FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace';
