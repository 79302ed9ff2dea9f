// A slow, obvious Qwen2 forward pass in plain TypeScript (float64 loops), written from HF's modeling_qwen2
// semantics, to check the libtorch model independently. One sequence at a time, no batching, no cache.

import type { Qwen2WeightShapes } from '../../lib/model/qwen2-weights.js';

/** The shape-deciding hyper-parameters (config.json names), all of them given. */
export interface ReferenceConfig extends Required<Qwen2WeightShapes> {
  rope_theta: number;
  rms_norm_eps: number;
}

type Weights = (name: string) => Float32Array;

/** y[o] = sum_i W[o, i] x[i] + b[o] for W stored row-major (out, in). */
function linear(x: Float64Array, weight: Float32Array, out: number, bias?: Float32Array): Float64Array {
  const inSize = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let sum = bias ? bias[o]! : 0;
    for (let i = 0; i < inSize; i++) sum += weight[o * inSize + i]! * x[i]!;
    y[o] = sum;
  }
  return y;
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let meanSquare = 0;
  for (const v of x) meanSquare += v * v;
  meanSquare /= x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((v, i) => v * scale * weight[i]!);
}

/** Rotary embedding on one head vector at `position`: pairs (i, i + D/2) rotate by position·θ^(-2i/D). */
function rotate(head: Float64Array, position: number, theta: number): Float64Array {
  const dim = head.length;
  const half = dim / 2;
  const out = new Float64Array(dim);
  for (let i = 0; i < half; i++) {
    const angle = position * Math.pow(theta, (-2 * i) / dim);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    out[i] = head[i]! * cos - head[i + half]! * sin;
    out[i + half] = head[i + half]! * cos + head[i]! * sin;
  }
  return out;
}

/** log-softmax of the next-token logits after each position of `ids`: result[t] has length vocab_size. */
export function referenceLogProbs(config: ReferenceConfig, weights: Weights, ids: number[]): Float64Array[] {
  const H = config.hidden_size;
  const nH = config.num_attention_heads;
  const nKV = config.num_key_value_heads;
  const D = H / nH;
  const group = nH / nKV;
  const embed = weights('model.embed_tokens.weight');
  let xs = ids.map((id) => Float64Array.from(embed.subarray(id * H, (id + 1) * H)));
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = (name: string) => weights(`model.layers.${l}.${name}`);
    const normed = xs.map((x) => rmsNorm(x, p('input_layernorm.weight'), config.rms_norm_eps));
    const q = normed.map((x) => linear(x, p('self_attn.q_proj.weight'), nH * D, p('self_attn.q_proj.bias')));
    const k = normed.map((x) => linear(x, p('self_attn.k_proj.weight'), nKV * D, p('self_attn.k_proj.bias')));
    const v = normed.map((x) => linear(x, p('self_attn.v_proj.weight'), nKV * D, p('self_attn.v_proj.bias')));
    const attended = xs.map((_, t) => {
      const out = new Float64Array(nH * D);
      for (let h = 0; h < nH; h++) {
        const kvHead = Math.floor(h / group);
        const qh = rotate(q[t]!.subarray(h * D, (h + 1) * D), t, config.rope_theta);
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          const ks = rotate(k[s]!.subarray(kvHead * D, (kvHead + 1) * D), s, config.rope_theta);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qh[d]! * ks[d]!;
          scores.push(dot / Math.sqrt(D));
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) {
          for (let d = 0; d < D; d++) out[h * D + d]! += (exps[s]! / total) * v[s]![kvHead * D + d]!;
        }
      }
      return linear(out, p('self_attn.o_proj.weight'), H);
    });
    xs = xs.map((x, t) => x.map((value, i) => value + attended[t]![i]!));
    xs = xs.map((x) => {
      const n = rmsNorm(x, p('post_attention_layernorm.weight'), config.rms_norm_eps);
      const gate = linear(n, p('mlp.gate_proj.weight'), config.intermediate_size);
      const up = linear(n, p('mlp.up_proj.weight'), config.intermediate_size);
      const hidden = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = linear(hidden, p('mlp.down_proj.weight'), H);
      return x.map((value, i) => value + down[i]!);
    });
  }
  const head = config.tie_word_embeddings ? embed : weights('lm_head.weight');
  return xs.map((x) => {
    const logits = linear(rmsNorm(x, weights('model.norm.weight'), config.rms_norm_eps), head, config.vocab_size);
    const max = Math.max(...logits);
    const logSum = Math.log(logits.reduce((sum, z) => sum + Math.exp(z - max), 0)) + max;
    return logits.map((z) => z - logSum);
  });
}
