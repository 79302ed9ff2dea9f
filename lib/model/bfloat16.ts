// float32 <-> bfloat16 bit conversions for writing and checking safetensors files in TypeScript. Tensor math on
// bfloat16 is left to libtorch.

/**
 * The bfloat16 bit patterns of `values`, rounded to nearest, ties to even (as torch's float -> bfloat16 cast):
 * the upper 16 bits of the float32 after adding 0x7FFF + (bit 16 of the input). NaN stays NaN (quiet, sign kept).
 */
export function float32ToBfloat16(values: Float32Array | readonly number[]): Uint16Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  const out = new Uint16Array(floats.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x007fffff) !== 0) {
      out[i] = (x >>> 16) | 0x0040; // NaN: keep it NaN even if the payload sat in the dropped bits
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // < 2^32 for every non-NaN input, so >>> is exact
    }
  }
  return out;
}

/** The float32 values of bfloat16 bit patterns (exact: bfloat16 is the upper half of a float32). */
export function bfloat16ToFloat32(bits: Uint16Array | readonly number[]): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = (bits[i]! & 0xffff) << 16;
  return out;
}
