// Maps generated tokens to their exact bytes (the tokenizer's tokenBytes table, the same bytes native stop
// strings are matched on), so a tag found in the text can be traced back to the token that holds it.
// Parsing what the text means is left to actions.ts.
import { RexragError } from '../errors.js';

/** Token bytes as a "binary" string (one char per byte, Latin-1) with the byte offset where each token starts. */
export interface BinaryText {
  /** text.charCodeAt(i) is byte i. ASCII tags can be searched for directly; decode slices with utf8Of. */
  text: string;
  /** starts[k] is the byte offset of token k; starts[tokens.length] is the total byte length. */
  starts: number[];
}

/** Builds binary texts of token runs from a tokenBytes table; caches each token's binary string. */
export class TokenByteText {
  private readonly cache = new Map<number, string>();

  constructor(private readonly tokenBytes: readonly Uint8Array[]) {}

  /** The bytes of `tokens`, concatenated, and where each token starts. */
  binary(tokens: readonly number[]): BinaryText {
    const starts = new Array<number>(tokens.length + 1);
    let text = '';
    tokens.forEach((id, k) => {
      starts[k] = text.length;
      text += this.tokenString(id);
    });
    starts[tokens.length] = text.length;
    return { text, starts };
  }

  private tokenString(id: number): string {
    let cached = this.cache.get(id);
    if (cached === undefined) {
      const bytes = this.tokenBytes[id];
      if (bytes === undefined) {
        const size = this.tokenBytes.length;
        throw new RexragError(`token id ${id} has no entry in the tokenizer's tokenBytes table (${size} entries)`, 'ERR_INVALID_ARG');
      }
      cached = Buffer.from(bytes).toString('latin1');
      this.cache.set(id, cached);
    }
    return cached;
  }
}

/**
 * The index of the token that holds byte `offset` (0 ≤ offset < total bytes): the last token starting at or
 * before it, which skips tokens that have no bytes.
 */
export function tokenAtByte(starts: readonly number[], offset: number): number {
  const tokens = starts.length - 1;
  if (!(offset >= 0 && offset < starts[tokens]!)) {
    throw new RangeError(`byte offset ${offset} is outside the text (${starts[tokens]} bytes)`);
  }
  let low = 0;
  let high = tokens - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle]! <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** UTF-8 decoding of a binary string (invalid sequences become U+FFFD). */
export function utf8Of(binary: string): string {
  return Buffer.from(binary, 'latin1').toString('utf8');
}
