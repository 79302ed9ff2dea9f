// Supervised warm-up (behaviour cloning) with the same native trainer: with advantage 1 and the behaviour
// log-probs equal to the current ones, the clipped objective's gradient is exactly that of token-mean
// cross-entropy on the masked tokens (the ratio is 1, inside the clip range, on the single update per batch).
import { seededPermutation } from '../util/random.js';
import type { Policy } from '../model/policy.js';
import { expectArray, expectInteger, expectNumber } from '../validate.js';
import { GrpoTrainer } from './grpo-trainer.js';

export interface SftExample {
  ids: number[];
  /** 1 on tokens to imitate. */
  lossMask: number[];
}

export interface SftOptions {
  policy: Policy;
  examples: SftExample[];
  epochs: number;
  batchSize: number;
  lr: number;
  seed?: number;
  warmupSteps?: number;
  onStep?: (step: { step: number; epoch: number; nll: number; tokens: number }) => void;
}

/** Trains the policy to imitate the examples; returns the mean negative log-likelihood per step (before each update). */
export async function supervisedWarmup(options: SftOptions): Promise<number[]> {
  const { policy } = options;
  const examples = expectArray(options.examples, 'options.examples') as SftExample[];
  if (examples.length === 0) throw new RangeError('options.examples must not be empty');
  const epochs = expectInteger(options.epochs, 'options.epochs', { min: 1 });
  const batchSize = expectInteger(options.batchSize, 'options.batchSize', { min: 1 });
  const lr = expectNumber(options.lr, 'options.lr', { min: 0 });
  const trainer = await GrpoTrainer.create(policy, {
    reference: 'none',
    loss: { klType: 'none', aggregation: 'token-mean' },
    optimizer: { lr, weightDecay: 0, maxGradNorm: 1, warmupSteps: options.warmupSteps ?? 0 },
  });
  const losses: number[] = [];
  try {
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = seededPermutation(examples.length, (options.seed ?? 0) * 7_919 + epoch);
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = order.slice(start, start + batchSize).map((i) => examples[i]!);
        const ids = batch.map((e) => e.ids);
        const lossMask = batch.map((e) => e.lossMask);
        // On-policy (no behaviour log-probs): ratio 1, so the gradient is cross-entropy's; the trainer reports
        // the mean −log p of the trained tokens from the same forward pass.
        const metrics = await trainer.step({ ids, lossMask, advantages: batch.map(() => 1) });
        const tokens = metrics['train/tokens'];
        const nll = metrics['train/nll'];
        losses.push(nll);
        options.onStep?.({ step: ++step, epoch, nll, tokens });
      }
    }
  } finally {
    trainer.dispose();
  }
  return losses;
}
