// The builtin console's typed-text area, which wraps only the text's tail: it shows what wrapping
// the whole text at the screen's width would, its newest rows, however the text is made of short
// lines, long lines and empty ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TEXT_COLUMNS, TEXT_ROWS, visibleLines } from '../../sim/consoles/guest-screen.js';

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
