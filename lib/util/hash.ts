// A fast, deterministic 32-bit string hash for feature hashing; nothing cryptographic.

/**
 * FNV-1a over the UTF-16 code units of `text`, seeded, followed by MurmurHash3's fmix32 finaliser so that
 * every output bit depends on every input bit (feature hashing uses the low bits for the bucket and the top
 * bit for the sign). Returns an unsigned 32-bit integer.
 */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
