/**
 * The recording player's page (for the backend's staff, behind a one-time link): like the
 * console pages it carries no inline script or style; the bundle reads its options from a JSON
 * data block.
 */
import type { RecordingInfo } from '../recordings/store.js';
import { escapeHtml, htmlDocument, jsonForHtml, type PageContext } from './pages.js';

/** What web/player.ts reads from the `#player-options` block. */
export interface PlayerPageData {
  recording: Pick<RecordingInfo, 'id' | 'kind' | 'session_id' | 'tag' | 'vmid' | 'started_at' | 'duration' | 'size' | 'stopped'>;
  /** Where the page fetches the recording's bytes (same origin, the player cookie). */
  fileUrl: string;
  /** The nonce of the <style> elements the terminal of an asciicast creates. */
  styleNonce?: string;
}

export function renderPlayerPage(ctx: PageContext, data: PlayerPageData): string {
  const title = `Recording ${data.recording.vmid} ${data.recording.started_at}`;
  return htmlDocument(ctx, {
    title: ctx.brand ? `${title} – ${ctx.brand.name}` : title,
    stylesheet: 'player.css',
    bodyClass: 'player',
    head: `<script type="application/json" id="player-options">${jsonForHtml(data)}</script>
<script type="module" src="${escapeHtml(ctx.assetBase)}player.js"></script>
`,
    body: '<noscript><p>The recording player needs JavaScript.</p></noscript>',
  });
}
