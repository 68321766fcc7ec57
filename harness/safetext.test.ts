// safeText / safeJson: what reaches the terminal from outside text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeJson, safeText } from './safetext.ts';

test('safeText escapes controls and bidi characters, leaves ordinary text alone', () => {
  const cases: [string, string][] = [
    ['\x1b[31mred', '\\x1b[31mred'],
    ['a\nb\r\tc', 'a\\nb\\r\\tc'],
    ['\x00\x07\x7f', '\\x00\\x07\\x7f'],
    ['csi\x9b2J', 'csi\\x9b2J'],
    ['abc\u202edcba\u2066\u2028', 'abc\\u202edcba\\u2066\\u2028'],
  ];
  for (const [raw, shown] of cases) assert.equal(safeText(raw), shown, JSON.stringify(raw));
  for (const ok of ['', 'loss_pct=2,delay_ms=25', 'h3 · 1.5 ±0.2 – µs é 漢字 😀', 'C:\\path\\x1b']) assert.equal(safeText(ok), ok);
  // every C0 control, DEL and every C1 control is escaped: nothing below 0x20 or in 0x7f-0x9f survives
  const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('');
  const out = safeText(all);
  assert.doesNotMatch(out, /[\x00-\x1f\x7f-\x9f]/);
  assert.equal((out.match(/\\x[0-9a-f]{2}|\\[nrt]/g) ?? []).length, 0x20 + 0x21, 'one escape per control character');
});

test('safeJson is JSON that parses back to the same value, with no raw control or bidi character', () => {
  const value = { cell: 'a\x1bb', protocol: 'h2\u202e\x9b\x7f', n: [1, 2], nested: { s: 'line\nbreak\u2028' } };
  const text = safeJson(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.doesNotMatch(text.replace(/\n/g, ''), /[\x00-\x1f\x7f-\x9f\u202e\u2028]/);
  assert.equal(safeJson({ a: 'plain' }), JSON.stringify({ a: 'plain' }, null, 2), 'ordinary values: JSON.stringify output');
});
