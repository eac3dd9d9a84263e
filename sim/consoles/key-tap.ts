// Reads along the client's half of an RFB stream on its way to QEMU and records the key presses,
// so received() also works for guests whose console is a real QEMU.
import { ClientMessageReader } from './client-messages.js';
import type { KeyLog } from './key-log.js';

const VERSION_LENGTH = 12;
const DES_RESPONSE_LENGTH = 16;
const CLIENT_INIT_LENGTH = 1;
const SECURITY_CHOICE_LENGTH = 1;

export class KeyTap {
  private head = Buffer.alloc(0);
  /** Handshake bytes still to pass before messages start; known once the version line is in. */
  private handshakeLeft: number | undefined;
  private readonly messages = new ClientMessageReader();
  private broken = false;

  constructor(private readonly keys: KeyLog) {}

  observe(chunk: Buffer): void {
    if (this.broken) return;
    let rest = chunk;
    if (this.handshakeLeft === undefined) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < VERSION_LENGTH) return;
      // RFB 3.3 (and Apple's 3.4/3.5) has the server pick the security type: no choice byte.
      const minor = Number(this.head.subarray(8, 11).toString('latin1'));
      this.handshakeLeft = (minor >= 3 && minor <= 5 ? 0 : SECURITY_CHOICE_LENGTH) + DES_RESPONSE_LENGTH + CLIENT_INIT_LENGTH;
      rest = this.head.subarray(VERSION_LENGTH);
      this.head = Buffer.alloc(0);
    }
    const skip = Math.min(this.handshakeLeft, rest.length);
    this.handshakeLeft -= skip;
    rest = rest.subarray(skip);
    if (rest.length === 0) return;
    try {
      for (const message of this.messages.push(rest)) {
        if (message.type === 'key' && message.down) this.keys.press(message.keysym);
      }
    } catch {
      // QEMU drops such a client itself; nothing more to read along.
      this.broken = true;
    }
  }
}
