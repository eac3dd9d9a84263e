// Every catalog has exactly the reference catalog's keys, the same placeholders in each text, and
// a language is picked from the link, else Accept-Language, else English.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { en } from '../../src/console/i18n/en.js';
import { CATALOGS, LANGUAGES, pickLanguage } from '../../src/console/i18n/index.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('one catalog file per language, each registered', () => {
  const dir = fileURLToPath(new URL('../../src/console/i18n/', import.meta.url));
  const files = readdirSync(dir).filter((f) => /^[a-z]{2}\.js$/.test(f)).map((f) => f.slice(0, 2)).sort();
  assert.deepEqual([...LANGUAGES].sort(), files);
});

for (const [lang, catalog] of Object.entries(CATALOGS)) {
  test(`the ${lang} catalog has every key of the English one, no other, with the same placeholders`, () => {
    const missing = Object.keys(en).filter((key) => !Object.hasOwn(catalog, key));
    const unknown = Object.keys(catalog).filter((key) => !Object.hasOwn(en, key));
    assert.deepEqual({ missing, unknown }, { missing: [], unknown: [] });
    for (const [key, text] of Object.entries(catalog)) {
      assert.equal(typeof text, 'string');
      assert.ok(text.trim() !== '', `${lang} ${key} is empty`);
      assert.deepEqual(placeholders(text), placeholders(en[key as keyof typeof en]), `${lang} ${key} placeholders`);
    }
  });
}

test("the link's lang wins, then Accept-Language by quality and order, then English", () => {
  assert.equal(pickLanguage('de', 'fr-FR,fr;q=0.9'), 'de');
  assert.equal(pickLanguage('DE-ch', undefined), 'de');
  assert.equal(pickLanguage(undefined, 'xx-YY, de-AT;q=0.8, en;q=0.5'), 'de');
  assert.equal(pickLanguage(undefined, 'en;q=0.4, de;q=0.9'), 'de');
  assert.equal(pickLanguage(undefined, 'zz, *;q=0.1'), 'en');
  assert.equal(pickLanguage(undefined, undefined), 'en');
  assert.equal(pickLanguage(undefined, 'de;q=0'), 'en');
});
