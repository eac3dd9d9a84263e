import { frameTargetOrigin } from '../../src/console/frame-origin.js';
import type { ConsoleEvent } from './supervisor.js';

/** What a panel framing the console receives (see the README's "Embedding" section). */
export type EmbedMessage =
  | { source: 'proxmoxvnc'; event: 'connected' | 'disconnected' }
  | { source: 'proxmoxvnc'; event: 'ended'; outcome: string }
  | { source: 'proxmoxvnc'; event: 'title'; title: string };

/**
 * Tells the embedding panel what happens, posted to its origin only when frame_ancestors allows
 * it; a page that is not framed, or framed by a page it cannot name, posts nothing.
 */
export function embedMessenger(frameAncestors: readonly string[]): { consoleEvent(event: ConsoleEvent): void; title(title: string): void } {
  const framed = window.parent !== window;
  const ancestors = location.ancestorOrigins as DOMStringList | undefined;
  const target = framed ? frameTargetOrigin(frameAncestors, location.origin, ancestors && ancestors.length > 0 ? ancestors[0]! : undefined) : null;
  const post = (message: EmbedMessage): void => {
    if (target !== null) window.parent.postMessage(message, target);
  };
  let lastTitle: string | undefined;
  return {
    consoleEvent(event) {
      post(event.kind === 'ended' ? { source: 'proxmoxvnc', event: 'ended', outcome: event.outcome } : { source: 'proxmoxvnc', event: event.kind });
    },
    title(title) {
      // The desktop name arrives again on every connection: the panel hears of changes only.
      if (title === lastTitle) return;
      lastTitle = title;
      post({ source: 'proxmoxvnc', event: 'title', title });
    },
  };
}
