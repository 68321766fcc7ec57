// RFC test vectors: RFC 7541 Appendix C (Huffman) and RFC 9204 Appendix B (QPACK) where they
// apply to a zero-capacity dynamic table; plus varint and frame round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODES, CODE_LENGTHS, huffmanDecode, huffmanEncode } from './huffman.ts';
import { decodeFieldSection, DecoderStreamReader, encodeFieldSection, EncoderStreamReader, STATIC_TABLE } from './qpack.ts';
import { H3Code, H3Error } from './errors.ts';
import { encodeVarint, readVarint } from './varint.ts';
import { decodeSettings, encodeFrame, encodeSettings, Frame, FrameReader } from './frames.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 7541 C.4 (requests) and C.6 (responses), Huffman-coded string literals.
const HUFFMAN_VECTORS: [string, string][] = [
  ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
  ['a8eb 1064 9cbf', 'no-cache'],
  ['25a8 49e9 5ba9 7d7f', 'custom-key'],
  ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
  ['6402', '302'],
  ['aec3 771a 4b', 'private'],
  ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
  ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
  ['640e ff', '307'],
  ['d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ['9bd9 ab', 'gzip'],
  ['94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
];

test('huffman: RFC 7541 Appendix C vectors decode and encode', () => {
  for (const [h, s] of HUFFMAN_VECTORS) {
    assert.equal(huffmanDecode(hex(h)).toString('latin1'), s);
    assert.equal(huffmanEncode(Buffer.from(s, 'latin1')).toString('hex'), hex(h).toString('hex'));
  }
});

test('huffman: rebuilt canonical codes match RFC 7541 Appendix B samples', () => {
  // [symbol, code as hex, length] straight from the table's hex/len columns
  const sample: [number, number, number][] = [
    [0, 0x1ff8, 13], [10, 0x3ffffffc, 30], [32, 0x14, 6], [48, 0x0, 5], [58, 0x5c, 7], [92, 0x7fff0, 19],
    [122, 0x7b, 7], [127, 0xffffffc, 28], [153, 0x1fffdc, 21], [199, 0x1ffffec, 25], [220, 0xffffffd, 28],
    [226, 0xfffed, 20], [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, len] of sample) {
    assert.equal(CODE_LENGTHS[sym], len, `length of ${sym}`);
    assert.equal(CODES[sym], code, `code of ${sym}`);
  }
  let kraft = 0;
  for (let s = 0; s <= 256; s++) kraft += 2 ** -CODE_LENGTHS[s]!;
  assert.equal(kraft, 1);
});

test('huffman: every byte value round-trips; bad padding and EOS are typed errors', () => {
  const all = Buffer.from([...Array(256).keys()]);
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
  // 'a' (00011) padded with zeros instead of ones
  assert.throws(() => huffmanDecode(Buffer.from([0b00011000])), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.QPACK_DECOMPRESSION_FAILED);
  // a whole byte of padding (8 one-bits) after a complete symbol
  assert.throws(() => huffmanDecode(Buffer.from([0b00011111, 0xff])), H3Error);
  // EOS (30 one-bits) encoded inside the string
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff])), H3Error);
});

test('qpack: RFC 9204 B.1 literal field line with static name reference', () => {
  const block = hex('0000 510b 2f69 6e64 6578 2e68 746d 6c');
  assert.deepEqual(decodeFieldSection(block), [[':path', '/index.html']]);
  // our encoder makes the same choice (name reference to index 1), modulo Huffman
  assert.deepEqual(encodeFieldSection([[':path', '/index.html']], false), block);
});

test('qpack: RFC 9204 B.2/B.4 dynamic-table references are errors with capacity 0', () => {
  for (const h of ['0381 10 11', '0500 80 c1 81']) {
    assert.throws(
      () => decodeFieldSection(hex(h)),
      (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.QPACK_DECOMPRESSION_FAILED,
    );
  }
  // B.2 encoder stream: Set Dynamic Table Capacity=220 exceeds our maximum of 0
  assert.throws(() => new EncoderStreamReader().push(hex('3fbd01')), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.QPACK_ENCODER_STREAM_ERROR);
  // B.3 encoder stream: Insert With Literal Name
  assert.throws(() => new EncoderStreamReader().push(hex('4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565')), H3Error);
  // Capacity 0 is fine, also split across pushes
  const r = new EncoderStreamReader();
  r.push(hex('20'));
  r.push(hex('20'));
  // B.2 decoder stream: Section Acknowledgment (we never reference the table)
  assert.throws(() => new DecoderStreamReader().push(hex('84')), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.QPACK_DECODER_STREAM_ERROR);
  // B.3 decoder stream: Insert Count Increment
  assert.throws(() => new DecoderStreamReader().push(hex('01')), H3Error);
  // B.4 decoder stream: Stream Cancellation (Stream=8) is allowed
  new DecoderStreamReader().push(hex('48'));
});

test('qpack: static indexed, name-ref and literal-name lines round-trip (with and without Huffman)', () => {
  const headers: [string, string][] = [
    [':status', '200'],
    [':method', 'GET'],
    ['content-type', 'application/octet-stream'],
    ['content-length', '52428800'],
    ['x-holbench', 'Value With UPPER and \u00e9'],
    ['x-empty', ''],
  ];
  for (const huff of [true, false]) assert.deepEqual(decodeFieldSection(encodeFieldSection(headers, huff)), headers);
  assert.equal(STATIC_TABLE.length, 99);
  assert.deepEqual(STATIC_TABLE[98], ['x-frame-options', 'sameorigin']);
  assert.deepEqual(decodeFieldSection(hex('0000 d1')), [[':method', 'GET']]);
});

test('varint: RFC 9000 A.1 examples', () => {
  const cases: [string, number][] = [['c2197c5eff14e88c', 151288809941952652], ['9d7f3e7d', 494878333], ['7bbd', 15293], ['25', 37], ['4025', 37]];
  for (const [h, v] of cases) assert.equal(readVarint(hex(h), 0), v);
  for (const v of [0, 63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30, 2 ** 40]) assert.equal(readVarint(encodeVarint(v), 0), v);
  assert.equal(readVarint(hex('9d7f3e'), 0), -1);
});

test('frames: reader streams DATA, reassembles split frames, skips unknown types, rejects HTTP/2 types', () => {
  const frames = Buffer.concat([
    encodeSettings([[1, 0], [7, 0], [0x21, 5]]),
    encodeFrame(0x21, Buffer.alloc(100, 1)), // grease frame, skipped
    encodeFrame(Frame.HEADERS, Buffer.from([0, 0, 0xd9])),
    encodeFrame(Frame.DATA, Buffer.alloc(5000, 7)),
  ]);
  const got: string[] = [];
  let data = 0;
  const r = new FrameReader();
  for (let i = 0; i < frames.length; i += 3) r.push(frames.subarray(i, i + 3), { frame: (t) => got.push(`f${t}`), data: (c) => (data += c.length), dataHeader: () => got.push('d') });
  assert.deepEqual(got, ['f4', 'f1', 'd']);
  assert.equal(data, 5000);
  assert.ok(r.atBoundary());
  assert.throws(() => new FrameReader().push(encodeFrame(0x2, Buffer.alloc(0)), { frame() {}, data() {}, dataHeader() {} }), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.FRAME_UNEXPECTED);
  assert.deepEqual([...decodeSettings(Buffer.from([1, 0, 7, 0]))], [[1, 0], [7, 0]]);
  assert.throws(() => decodeSettings(Buffer.from([1, 0, 1, 0])), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.SETTINGS_ERROR);
  assert.throws(() => decodeSettings(Buffer.from([2, 0])), (e: unknown) => e instanceof H3Error && e.h3Code === H3Code.SETTINGS_ERROR);
});
