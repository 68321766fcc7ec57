// Parsers fed seeded random and mutated bytes: only our typed errors may escape, and each
// run is bounded in iterations and time (a hang fails the test by its timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H3Error } from './errors.ts';
import { huffmanDecode, huffmanEncode } from './huffman.ts';
import { decodeFieldSection, DecoderStreamReader, encodeFieldSection, EncoderStreamReader } from './qpack.ts';
import { decodeSettings, encodeFrame, encodeSettings, Frame, FrameReader } from './frames.ts';
import { readVarint } from './varint.ts';
import { parseFields } from './session.ts';

/** xorshift32: deterministic, seedable. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { next, int: (n: number) => next() % n, bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 0xff)) };
}

const ITER = 20_000;
const BUDGET_MS = 15_000;

function only(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof H3Error)) throw e;
  }
}

function mutate(r: ReturnType<typeof rng>, b: Buffer): Buffer {
  const c = Buffer.from(b);
  const n = 1 + r.int(4);
  for (let i = 0; i < n && c.length; i++) c[r.int(c.length)] = r.next() & 0xff;
  return r.int(4) === 0 ? c.subarray(0, r.int(c.length + 1)) : c;
}

test('fuzz: QPACK field sections, encoder/decoder streams, Huffman', { timeout: 60_000 }, () => {
  const r = rng(0x9204);
  const t0 = Date.now();
  const valid = encodeFieldSection([[':status', '200'], ['content-type', 'text/plain'], ['x-a', 'b'.repeat(40)]]);
  for (let i = 0; i < ITER && Date.now() - t0 < BUDGET_MS; i++) {
    const input = i % 2 ? r.bytes(r.int(64)) : mutate(r, valid);
    only(() => {
      const list = decodeFieldSection(input);
      for (const [n, v] of list) assert.equal(typeof n + typeof v, 'stringstring');
      only(() => parseFields(list, i % 3 === 0 ? 'request' : 'response'));
    });
    only(() => new EncoderStreamReader().push(input));
    only(() => new DecoderStreamReader().push(input));
    only(() => huffmanDecode(input));
  }
  // Huffman round trip on random bytes
  for (let i = 0; i < 2000; i++) {
    const b = r.bytes(r.int(50));
    assert.deepEqual(huffmanDecode(huffmanEncode(b)), b);
  }
});

test('fuzz: frame reader, settings and varints on random and mutated streams', { timeout: 60_000 }, () => {
  const r = rng(0x9114);
  const t0 = Date.now();
  const valid = Buffer.concat([
    encodeSettings([[1, 0], [7, 0], [6, 65536]]),
    encodeFrame(Frame.HEADERS, encodeFieldSection([[':status', '200']])),
    encodeFrame(Frame.DATA, Buffer.alloc(300, 1)),
    encodeFrame(0x21 + 0x1f * 7, Buffer.alloc(20)),
    encodeFrame(Frame.GOAWAY, Buffer.from([4])),
  ]);
  for (let i = 0; i < ITER && Date.now() - t0 < BUDGET_MS; i++) {
    const input = i % 2 ? r.bytes(r.int(200)) : mutate(r, valid);
    const reader = new FrameReader(4096);
    let frames = 0;
    only(() => {
      for (let off = 0; off < input.length; ) {
        const n = 1 + r.int(40);
        reader.push(input.subarray(off, off + n), {
          frame: (type, p) => {
            frames++;
            if (type === Frame.SETTINGS) only(() => decodeSettings(p));
            if (type === Frame.HEADERS) only(() => decodeFieldSection(p));
          },
          data: () => {},
          dataHeader: () => {},
        });
        off += n;
      }
    });
    assert.ok(frames <= input.length);
    const v = readVarint(input, 0);
    assert.ok(v >= -1);
  }
});
