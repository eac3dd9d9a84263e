/** The page options the server renders into `#console-options` (src/console/pages.ts). */
export interface ConsoleOptions {
  sessionId: string;
  title: string;
  consoleKind: 'novnc' | 'xterm';
  viewOnly: boolean;
}

export function readConsoleOptions(): ConsoleOptions {
  const block = document.getElementById('console-options');
  const raw: unknown = JSON.parse(block?.textContent ?? 'null');
  if (typeof raw !== 'object' || raw === null) throw new Error('console options are missing');
  const data = raw as Record<string, unknown>;
  if (typeof data.sessionId !== 'string' || data.sessionId === '') throw new Error('console options have no session id');
  return {
    sessionId: data.sessionId,
    title: typeof data.title === 'string' && data.title !== '' ? data.title : 'Console',
    consoleKind: data.consoleKind === 'xterm' ? 'xterm' : 'novnc',
    viewOnly: data.viewOnly === true,
  };
}
