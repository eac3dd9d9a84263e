// Follows the RFB server-to-client stream at the cost of message and rectangle headers only:
// pixel data is skipped by length, never copied, so the measuring client is not the bottleneck.

const MSG_FRAMEBUFFER_UPDATE = 0;
const MSG_BELL = 2;
const MSG_SERVER_CUT_TEXT = 3;
const ENCODING_RAW = 0;
const ENCODING_DESKTOP_SIZE = -223;
const UPDATE_HEADER = 3;
const RECT_HEADER = 12;
const CUT_TEXT_HEADER = 7;
const MAX_CUT_TEXT = 64 * 1024;

type Stage = 'type' | 'update' | 'rect' | 'cutTextHeader' | 'cutText';

export interface ServerMessageHandlers {
  onUpdate(): void;
  onCutText(text: string): void;
}

export class ServerMessageParser {
  private stage: Stage = 'type';
  /** The header (or cut text) being collected, and how much of it arrived. */
  private field = Buffer.alloc(RECT_HEADER);
  private wanted = 1;
  private have = 0;
  private pixelBytesLeft = 0;
  private rectsLeft = 0;

  constructor(
    private readonly bytesPerPixel: number,
    private readonly handlers: ServerMessageHandlers,
  ) {}

  /** Throws on a message this client never asked for. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.pixelBytesLeft > 0) {
        const skipped = Math.min(this.pixelBytesLeft, chunk.length - at);
        this.pixelBytesLeft -= skipped;
        at += skipped;
        if (this.pixelBytesLeft === 0) this.rectDone();
        continue;
      }
      const taken = Math.min(this.wanted - this.have, chunk.length - at);
      chunk.copy(this.field, this.have, at, at + taken);
      this.have += taken;
      at += taken;
      if (this.have === this.wanted) this.fieldComplete();
    }
  }

  private collect(stage: Stage, length: number): void {
    this.stage = stage;
    this.wanted = length;
    this.have = 0;
    if (this.field.length < length) this.field = Buffer.alloc(length);
  }

  private fieldComplete(): void {
    const field = this.field;
    switch (this.stage) {
      case 'type':
        if (field[0] === MSG_FRAMEBUFFER_UPDATE) this.collect('update', UPDATE_HEADER);
        else if (field[0] === MSG_SERVER_CUT_TEXT) this.collect('cutTextHeader', CUT_TEXT_HEADER);
        else if (field[0] === MSG_BELL) this.collect('type', 1);
        else throw new Error(`unexpected server message type ${field[0]}`);
        return;
      case 'update':
        this.rectsLeft = field.readUInt16BE(1);
        if (this.rectsLeft === 0) this.updateDone();
        else this.collect('rect', RECT_HEADER);
        return;
      case 'rect': {
        const encoding = field.readInt32BE(8);
        if (encoding === ENCODING_RAW) this.pixelBytesLeft = field.readUInt16BE(4) * field.readUInt16BE(6) * this.bytesPerPixel;
        else if (encoding !== ENCODING_DESKTOP_SIZE) throw new Error(`unexpected rectangle encoding ${encoding}`);
        if (this.pixelBytesLeft === 0) this.rectDone();
        return;
      }
      case 'cutTextHeader': {
        const length = field.readUInt32BE(3);
        if (length > MAX_CUT_TEXT) throw new Error(`server cut text of ${length} bytes`);
        if (length === 0) {
          this.collect('type', 1);
          this.handlers.onCutText('');
        } else {
          this.collect('cutText', length);
        }
        return;
      }
      case 'cutText': {
        const text = field.toString('latin1', 0, this.wanted);
        this.collect('type', 1);
        this.handlers.onCutText(text);
        return;
      }
    }
  }

  private rectDone(): void {
    this.rectsLeft -= 1;
    if (this.rectsLeft > 0) this.collect('rect', RECT_HEADER);
    else this.updateDone();
  }

  private updateDone(): void {
    this.collect('type', 1);
    this.handlers.onUpdate();
  }
}
