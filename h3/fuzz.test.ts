// Parsers fed seeded random and mutated bytes: only our typed errors may escape. A fixed
// number of iterations from a fixed seed (HOLBENCH_FUZZ_SEED overrides it), so every run checks
// the same inputs and a failure names the seed and iteration to replay; a hang fails the test
// by its timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H3Error } from './errors.ts';
import { huffmanDecode, huffmanEncode } from './huffman.ts';
import { decodeFieldSection, DecoderStreamReader, encodeFieldSection, EncoderStreamReader } from './qpack.ts';
import { decodeSettings, encodeFrame, encodeSettings, Frame, FrameReader } from './frames.ts';
import { readVarint } from './varint.ts';
import { parseFields } from './session.ts';
import { mulberry32, type Rng } from './testdata/rng.ts';

/** Iterations per test: fixed, so every run covers the same inputs whatever the machine's speed. */
const ITER = 20_000;
/** Default seeds; HOLBENCH_FUZZ_SEED=<n> replays (or explores) another one. */
const SEED_ENV = process.env.HOLBENCH_FUZZ_SEED;
const seedFor = (fallback: number) => (SEED_ENV !== undefined && SEED_ENV !== '' ? Number(SEED_ENV) >>> 0 : fallback);

/** Runs `body` ITER times on one seeded generator; a failure names the seed and iteration to replay. */
function fuzz(name: string, seed: number, body: (r: Rng, i: number) => void): Rng {
  const r = mulberry32(seed);
  for (let i = 0; i < ITER; i++) {
    try {
      body(r, i);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${name}: seed ${seed} iteration ${i} (replay: HOLBENCH_FUZZ_SEED=${seed}): ${err.message}`;
      throw err;
    }
  }
  return r;
}

function only(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof H3Error)) throw e;
  }
}

function mutate(r: Rng, b: Buffer): Buffer {
  const c = Buffer.from(b);
  const n = 1 + r.int(4);
  for (let i = 0; i < n && c.length; i++) c[r.int(c.length)] = r.next() & 0xff;
  return r.int(4) === 0 ? c.subarray(0, r.int(c.length + 1)) : c;
}

test('fuzz: QPACK field sections, encoder/decoder streams, Huffman', { timeout: 60_000 }, () => {
  const valid = encodeFieldSection([[':status', '200'], ['content-type', 'text/plain'], ['x-a', 'b'.repeat(40)]]);
  const seed = seedFor(0x9204);
  const rest = fuzz('QPACK', seed, (r, i) => {
    const input = i % 2 ? r.bytes(r.int(64)) : mutate(r, valid);
    only(() => {
      const list = decodeFieldSection(input);
      for (const [n, v] of list) assert.equal(typeof n + typeof v, 'stringstring');
      only(() => parseFields(list, i % 3 === 0 ? 'request' : 'response'));
    });
    only(() => new EncoderStreamReader().push(input));
    only(() => new DecoderStreamReader().push(input));
    only(() => huffmanDecode(input));
  });
  // Huffman round trip on random bytes (continuing the same sequence)
  for (let i = 0; i < 2000; i++) {
    const b = rest.bytes(rest.int(50));
    assert.deepEqual(huffmanDecode(huffmanEncode(b)), b, `Huffman round trip: seed ${seed} iteration ${i}`);
  }
});

test('fuzz: frame reader, settings and varints on random and mutated streams', { timeout: 60_000 }, () => {
  const valid = Buffer.concat([
    encodeSettings([[1, 0], [7, 0], [6, 65536]]),
    encodeFrame(Frame.HEADERS, encodeFieldSection([[':status', '200']])),
    encodeFrame(Frame.DATA, Buffer.alloc(300, 1)),
    encodeFrame(0x21 + 0x1f * 7, Buffer.alloc(20)),
    encodeFrame(Frame.GOAWAY, Buffer.from([4])),
  ]);
  fuzz('frames', seedFor(0x9114), (r, i) => {
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
  });
});
