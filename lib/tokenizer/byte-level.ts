// The GPT-2 byte-level alphabet that byte-level BPE vocabularies (GPT-2, Qwen2) are written in: each byte 0..255
// is one printable character. Mapping only; tokenizing is left to @huggingface/tokenizers.

/**
 * byteToChar[b] is the character byte b is written as. Bytes that are printable and not whitespace
 * ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes, in increasing order, take the
 * code points 256, 257, ... (so the space 0x20 is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A), as in GPT-2's
 * `bytes_to_unicode()`.
 */
export const byteToChar: readonly string[] = (() => {
  const selfMapped = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) chars.push(String.fromCharCode(selfMapped(b) ? b : next++));
  return chars;
})();

/** The inverse of byteToChar. */
export const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((char, byte) => [char, byte]));

/**
 * The 256 byte symbols in GPT-2 vocabulary order: first the self-mapped bytes in increasing order, then the
 * remapped ones (the order Qwen2's vocabulary gives ids 0..255).
 */
export const byteSymbolsInVocabOrder: readonly string[] = [...byteToChar].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);

/** Writes UTF-8 bytes in the byte-level alphabet. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += byteToChar[b]!;
  return out;
}

/**
 * The bytes a byte-level token stands for, or undefined when a character is outside the alphabet (Hugging
 * Face's ByteLevel decoder then falls back to the token's own UTF-8 bytes; callers decide).
 */
export function byteLevelToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  let length = 0;
  for (const char of token) {
    const byte = charToByte.get(char);
    if (byte === undefined) return undefined;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}
