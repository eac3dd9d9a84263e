// A console that streams while something else happens (fuzzing, faults): it asks for a small
// update, reads it and asks again, so a stall or a broken session shows as a gap or an error.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import type { RfbTestClient } from './rfb-client.js';

/**
 * The longest a streaming console may wait for a frame while the test runs. Generous for a
 * shared 2-core machine; the stalls this guards against (issue 12) lasted seconds on end.
 */
const MAX_FRAME_GAP_MS = 4000;

/** A console that asks for a small update, reads it and asks again, timing the gaps. */
export class StreamingConsole {
  frames = 0;
  private maxGapMs = 0;
  private lastFrameAt = Date.now();
  private failure: Error | undefined;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: RfbTestClient,
    private readonly ws: WebSocket,
  ) {
    this.done = this.loop().catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.client.requestUpdate(false, 0, 0, 8, 8);
      await this.client.readFramebufferUpdate(MAX_FRAME_GAP_MS * 2);
      const now = Date.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.lastFrameAt);
      this.lastFrameAt = now;
      this.frames++;
      await sleep(20);
    }
  }

  /** Starts a new measurement: what came before (the opening, the warm-up) does not count. */
  mark(): void {
    this.maxGapMs = 0;
    this.lastFrameAt = Date.now();
  }

  /** Frames kept arriving since mark(), none more than MAX_FRAME_GAP_MS after the previous one. */
  async assertStreamed(): Promise<void> {
    assert.equal(this.failure, undefined, `the other console stopped: ${this.failure?.message}`);
    // The run may end within a gap: the gap up to now counts too.
    const gap = Math.max(this.maxGapMs, Date.now() - this.lastFrameAt);
    assert.ok(gap < MAX_FRAME_GAP_MS, `the other console waited ${gap} ms for a frame`);
    const now = this.frames;
    for (let waited = 0; this.frames === now && waited < MAX_FRAME_GAP_MS; waited += 20) await sleep(20);
    assert.ok(this.frames > now, 'the other console still streams');
  }

  /** Types into the console between two update requests: input must get through as well. */
  type(text: string): void {
    this.client.typeText(text);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.ws.close();
  }
}

