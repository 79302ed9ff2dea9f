// A slow, obvious BERT forward pass in plain TypeScript (float64 loops), written from HF's modeling_bert
// semantics, plus E5's mean pooling and L2 normalisation, to check the libtorch encoder independently.
// One sequence at a time (so no padding mask), token type 0 everywhere, eval mode (no dropout).
import type { NativeBertConfig } from '../../lib/native-types.js';

type Weights = (name: string) => Float32Array;

/** y[o] = Σ_i W[o, i] x[i] + b[o] for W stored row-major (out, in). */
function linear(x: Float64Array, weight: Float32Array, bias: Float32Array): Float64Array {
  const out = bias.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let sum = bias[o]!;
    for (let i = 0; i < x.length; i++) sum += weight[o * x.length + i]! * x[i]!;
    y[o] = sum;
  }
  return y;
}

/** (x - mean) / sqrt(var + eps) · weight + bias, with the biased variance (as torch's layer_norm). */
function layerNorm(x: Float64Array, weight: Float32Array, bias: Float32Array, eps: number): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  variance /= x.length;
  const scale = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * scale * weight[i]! + bias[i]!);
}

/**
 * erf(x) = 2/√π · e^{-x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1))  (Abramowitz & Stegun 7.1.6): every term is
 * positive, so there is no cancellation; |erf(x)| rounds to 1 in float64 beyond |x| = 6.
 */
export function erf(x: number): number {
  if (Math.abs(x) >= 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** The exact GELU: x · Φ(x) = x/2 · (1 + erf(x / √2)). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** Last hidden states (T rows of hidden_size) of one unpadded sequence. */
export function referenceBertHidden(config: Required<NativeBertConfig>, w: Weights, ids: number[]): Float64Array[] {
  const h = config.hidden_size;
  const heads = config.num_attention_heads;
  const d = h / heads;
  const eps = config.layer_norm_eps;
  const row = (table: Float32Array, index: number) => Float64Array.from(table.subarray(index * h, (index + 1) * h));
  let x = ids.map((id, t) => {
    const e = row(w('embeddings.word_embeddings.weight'), id);
    const p = row(w('embeddings.position_embeddings.weight'), t);
    const s = row(w('embeddings.token_type_embeddings.weight'), 0);
    return layerNorm(e.map((v, i) => v + p[i]! + s[i]!), w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), eps);
  });
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    const project = (v: Float64Array, name: string) => linear(v, w(`${p}.${name}.weight`), w(`${p}.${name}.bias`));
    const q = x.map((v) => project(v, 'attention.self.query'));
    const k = x.map((v) => project(v, 'attention.self.key'));
    const val = x.map((v) => project(v, 'attention.self.value'));
    const context = x.map(() => new Float64Array(h));
    for (let head = 0; head < heads; head++) {
      for (let t = 0; t < x.length; t++) {
        // softmax_s(q_t · k_s / √d) over every position s of the sequence
        const scores = k.map((ks) => {
          let dot = 0;
          for (let i = head * d; i < (head + 1) * d; i++) dot += q[t]![i]! * ks[i]!;
          return dot / Math.sqrt(d);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let s = 0; s < x.length; s++) {
          for (let i = head * d; i < (head + 1) * d; i++) context[t]![i]! += (exps[s]! / total) * val[s]![i]!;
        }
      }
    }
    const attended = x.map((v, t) => {
      const o = project(context[t]!, 'attention.output.dense');
      return layerNorm(o.map((y, i) => y + v[i]!), w(`${p}.attention.output.LayerNorm.weight`), w(`${p}.attention.output.LayerNorm.bias`), eps);
    });
    x = attended.map((a) => {
      const inner = project(a, 'intermediate.dense').map(gelu);
      const o = project(inner, 'output.dense');
      return layerNorm(o.map((y, i) => y + a[i]!), w(`${p}.output.LayerNorm.weight`), w(`${p}.output.LayerNorm.bias`), eps);
    });
  }
  return x;
}

/** E5's embedding of one sequence: the mean of its hidden states, then divided by its L2 norm when `normalize`. */
export function referenceE5Embedding(config: Required<NativeBertConfig>, w: Weights, ids: number[], normalize = true): Float64Array {
  const hidden = referenceBertHidden(config, w, ids);
  const mean = new Float64Array(config.hidden_size);
  for (const v of hidden) for (let i = 0; i < mean.length; i++) mean[i]! += v[i]! / hidden.length;
  if (!normalize) return mean;
  const norm = Math.sqrt(mean.reduce((a, v) => a + v * v, 0));
  return mean.map((v) => v / Math.max(norm, 1e-12));
}
