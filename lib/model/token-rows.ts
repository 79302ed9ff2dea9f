// Ragged rows of tokens (or per-token values) to and from the flat layout native calls take: one array with
// the rows concatenated, plus each row's length.
import { expectArray, expectTokenIds } from '../validate.js';

/** Checks every row (non-empty, ids in [0, vocabSize)) and concatenates them. */
export function packTokenRows(rows: ArrayLike<number>[], vocabSize: number, name: string): { ids: Int32Array; lengths: Int32Array } {
  expectArray(rows, name);
  const lengths = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    lengths[i] = expectTokenIds(Array.from(row), `${name}[${i}]`, vocabSize).length;
    if (lengths[i] === 0) throw new RangeError(`${name}[${i}] must not be empty`);
  });
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let offset = 0;
  for (const row of rows) {
    ids.set(Array.from(row), offset);
    offset += row.length;
  }
  return { ids, lengths };
}

/** Flattens per-row 0/1 flags (truthy -> 1) that must match `lengths` row by row. */
export function packValueRows(rows: ArrayLike<number>[], lengths: Int32Array, name: string): Int32Array {
  if (expectArray(rows, name).length !== lengths.length) {
    throw new RangeError(`${name} has ${rows.length} rows but there are ${lengths.length} sequences`);
  }
  const out = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let offset = 0;
  rows.forEach((row, i) => {
    if (row.length !== lengths[i]) throw new RangeError(`${name}[${i}] has ${row.length} values but the sequence has ${lengths[i]}`);
    for (let t = 0; t < row.length; t++) out[offset + t] = row[t] ? 1 : 0;
    offset += row.length;
  });
  return out;
}

/** Splits a flat array back into rows of the given lengths (copies). */
export function splitRows(flat: Float32Array, lengths: ArrayLike<number>): Float32Array[] {
  const rows: Float32Array[] = [];
  let start = 0;
  for (let i = 0; i < lengths.length; i++) {
    rows.push(flat.slice(start, start + lengths[i]!));
    start += lengths[i]!;
  }
  return rows;
}
