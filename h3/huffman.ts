// HPACK/QPACK static Huffman code (RFC 7541 Appendix B). The code is canonical (codes of one
// length are consecutive and ordered by symbol), so the table is stored as code lengths only
// and the codes are rebuilt here; huffman.test.ts checks the rebuilt codes against the RFC's
// hex column for a sample of symbols and against the Appendix C examples.
import { H3Code, H3Error } from './errors.ts';

// prettier-ignore
const LENGTHS: readonly number[] = [
  // 0..31
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32 ' ' .. 63 '?'
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64 '@' .. 95 '_'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96 '`' .. 127
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128..159
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  // 160..191
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  // 192..223
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  // 224..255
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // 256 EOS
  30,
];

export const EOS = 256;

/** Code (right-aligned) and bit length per symbol 0..256. */
export const CODES: Uint32Array = new Uint32Array(257);
export const CODE_LENGTHS: Uint8Array = Uint8Array.from(LENGTHS);

// Decoding tree as a flat array: node i has children at TREE[2i] (bit 0) and TREE[2i+1]
// (bit 1); a value >= 0 is a child node index, a value < 0 is -(symbol + 1); 0 = no child
// (node 0 is the root, never a child).
const TREE: Int32Array = new Int32Array(2 * 512);

(function build() {
  if (LENGTHS.length !== 257) throw new Error('huffman table must have 257 lengths');
  const order = [...Array(257).keys()].sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let prevLen = LENGTHS[order[0]!]!;
  for (const sym of order) {
    const len = LENGTHS[sym]!;
    code = code * 2 ** (len - prevLen);
    prevLen = len;
    CODES[sym] = code;
    code++;
  }
  let nodes = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const len = LENGTHS[sym]!;
    const c = CODES[sym]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = (c >>> i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        TREE[slot] = -(sym + 1);
      } else {
        if (TREE[slot] === 0) TREE[slot] = nodes++;
        node = TREE[slot]!;
      }
    }
  }
})();

/** Decode a Huffman-coded string literal. Throws H3Error(QPACK_DECOMPRESSION_FAILED) on an
 *  EOS symbol inside the string, padding longer than 7 bits or padding that is not all ones. */
export function huffmanDecode(src: Uint8Array, maxLen = 1 << 20): Buffer {
  const out = Buffer.allocUnsafe(Math.min(maxLen, Math.ceil((src.length * 8) / 5)));
  let n = 0;
  let node = 0;
  let depth = 0; // bits consumed since the last complete symbol
  let allOnes = true; // are those bits all 1 (a prefix of EOS)?
  for (let i = 0; i < src.length; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TREE[2 * node + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new H3Error(H3Code.QPACK_DECOMPRESSION_FAILED, 'stream', 'huffman: EOS in string');
        if (n >= out.length) throw new H3Error(H3Code.QPACK_DECOMPRESSION_FAILED, 'stream', 'huffman: string too long');
        out[n++] = sym;
        node = 0;
        depth = 0;
        allOnes = true;
      } else {
        node = next;
      }
    }
  }
  if (depth > 7) throw new H3Error(H3Code.QPACK_DECOMPRESSION_FAILED, 'stream', 'huffman: padding longer than 7 bits');
  if (!allOnes) throw new H3Error(H3Code.QPACK_DECOMPRESSION_FAILED, 'stream', 'huffman: padding is not EOS prefix');
  return out.subarray(0, n);
}

/** Encoded length in bytes of `src` under the Huffman code. */
export function huffmanEncodedLength(src: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < src.length; i++) bits += CODE_LENGTHS[src[i]!]!;
  return (bits + 7) >> 3;
}

export function huffmanEncode(src: Uint8Array): Buffer {
  const out = Buffer.alloc(huffmanEncodedLength(src));
  let acc = 0; // pending bits, right-aligned, fewer than 8 kept between symbols
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const sym = src[i]!;
    let len = CODE_LENGTHS[sym]!;
    const code = CODES[sym]!;
    // Feed the code in pieces of at most 16 bits so `acc` never exceeds 24 bits.
    while (len > 0) {
      const take = Math.min(16, len);
      const piece = (code >>> (len - take)) & ((1 << take) - 1);
      acc = (acc << take) | piece;
      accBits += take;
      len -= take;
      while (accBits >= 8) {
        accBits -= 8;
        out[o++] = (acc >>> accBits) & 0xff;
      }
      acc &= (1 << accBits) - 1;
    }
  }
  if (accBits > 0) out[o++] = ((acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1)) & 0xff;
  return out;
}
