// The builtin console's typed-text area, which wraps only the text's tail from where the key log
// says its last line starts: it shows what wrapping the whole text at the screen's width would,
// its newest rows, however the text is made of short lines, long lines and empty ones, and
// whatever was typed, Enter and BackSpace included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TEXT_COLUMNS, TEXT_ROWS, visibleLines } from '../../sim/consoles/guest-screen.js';
import { KeyLog } from '../../sim/consoles/key-log.js';

/** Every line wrapped, then the newest rows: the rule stated plainly. */
function wrapAllThenTail(text: string): string[] {
  const rows: string[] = [];
  for (const line of `${text}_`.split('\n')) {
    if (line.length === 0) rows.push('');
    for (let at = 0; at < line.length; at += TEXT_COLUMNS) rows.push(line.slice(at, at + TEXT_COLUMNS));
  }
  return rows.slice(-TEXT_ROWS);
}

test('the newest rows of the whole text wrapped at the screen width', () => {
  const texts = fc.array(fc.constantFrom('a', 'b', '\n', 'x'.repeat(TEXT_COLUMNS - 1)), { maxLength: 200 }).map((parts) => parts.join(''));
  fc.assert(
    fc.property(texts, (text) => {
      assert.deepEqual(visibleLines(text), wrapAllThenTail(text));
    }),
    { seed: 20261202, numRuns: 2000 },
  );
});

test('edge texts: empty, only newlines, exactly a row wide, longer than the screen', () => {
  for (const text of ['', '\n', '\n\n\n', 'a'.repeat(TEXT_COLUMNS), 'a'.repeat(TEXT_COLUMNS - 1), 'z'.repeat(TEXT_COLUMNS * TEXT_ROWS * 3 + 7), `${'\n'.repeat(TEXT_ROWS * 2)}end`]) {
    assert.deepEqual(visibleLines(text), wrapAllThenTail(text), JSON.stringify(text.slice(0, 40)));
  }
  assert.deepEqual(visibleLines(''), ['_'], 'the cursor alone');
});

test("the key log's last line start, through typing, Enter and BackSpace", () => {
  const keys = fc.array(fc.oneof(fc.constantFrom(0xff0d, 0xff08, 0xff8d), fc.integer({ min: 0x61, max: 0x63 })), { maxLength: 300 });
  fc.assert(
    fc.property(keys, (keysyms) => {
      const log = new KeyLog();
      for (const keysym of keysyms) {
        log.press(keysym);
        assert.equal(log.lastLineStart, log.text.lastIndexOf('\n') + 1);
      }
      assert.deepEqual(visibleLines(log.text, log.lastLineStart), wrapAllThenTail(log.text));
    }),
    { seed: 20261202, numRuns: 1000 },
  );
});
