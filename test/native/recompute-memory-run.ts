// The process trainer-recompute.test.ts measures: one training step over one long row on a tiny many-layer
// policy, with or without layer recomputation, in a fresh process so that the peak resident set (VmHWM) is this
// step's alone. Args: "on" | "off". Prints one JSON line: the peak above the resident set before the step.
import { peakRssBytes, resetPeakRss, rssBytes } from '../../benchmarks/lib/memory.js';
import { Policy } from '../../lib/model/policy.js';
import { GrpoTrainer } from '../../lib/train/grpo-trainer.js';

const recompute = process.argv[2] === 'on';
const config = { vocab_size: 64, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false };
const tokens = 512;
const policy = await Policy.random(config, { seed: 3 });
const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: { klType: 'none' }, optimizer: { lr: 1e-3 } });
const ids = [Array.from({ length: tokens }, (_, t) => (t * 7 + 3) % config.vocab_size)];
// Behaviour log-probs of the uniform distribution: ratios (and so the loss) depend on the policy's log-probs.
const behaviourLogps = [ids[0]!.map((_, t) => (t === 0 ? 0 : -Math.log(config.vocab_size)))];
const batch = { ids, lossMask: [ids[0]!.map((_, t) => (t === 0 ? 0 : 1))], behaviourLogps, advantages: [1] };
const resident = rssBytes();
resetPeakRss();
const metrics = await trainer.step(batch, { microBatchTokens: tokens, recompute });
process.stdout.write(`${JSON.stringify({ recompute, peakAboveResident: peakRssBytes() - resident, loss: metrics['train/loss'] })}\n`);
trainer.dispose();
policy.dispose();
