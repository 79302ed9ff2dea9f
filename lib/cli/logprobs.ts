// `rexrag logprobs`: per-token log-probs of given token sequences under a model folder, as JSON.
import { readFile } from 'node:fs/promises';

import { loadPolicy } from '../model/load-policy.js';
import { numberOption, stringOption, valueFlags } from './parse.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag logprobs --model DIR --ids-file FILE [--dtype float32|bfloat16] [--device DEV]
  FILE holds a JSON array of token-id arrays. Prints {"logprobs": [[null, lp1, lp2, ...], ...]}: for each
  sequence, log p(token t | tokens before t); the first token has no prefix (null).
  --max-sequence-tokens N  longest sequence scored (default: the model's max_position_embeddings, the most)
  --max-batch-tokens N     tokens over all sequences (default 16777216)`;

export const logprobsCommand = defineCommand({
  name: 'logprobs',
  summary: 'score token sequences with a model folder (JSON out)',
  usage,
  options: valueFlags('model', 'ids-file', 'dtype', 'device', 'max-sequence-tokens', 'max-batch-tokens'),
  async run(values) {
    const model = stringOption(values, 'model', true);
    const idsFile = stringOption(values, 'ids-file', true);
    let sequences: unknown;
    try {
      sequences = JSON.parse(await readFile(idsFile, 'utf8'));
    } catch (error) {
      throw new CliUsageError(`--ids-file ${idsFile}: ${(error as Error).message}`);
    }
    if (!Array.isArray(sequences) || !sequences.every((s) => Array.isArray(s))) {
      throw new CliUsageError(`--ids-file ${idsFile} must hold a JSON array of token-id arrays`);
    }
    const dtype = stringOption(values, 'dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new CliUsageError(`--dtype must be float32 or bfloat16, got "${dtype}"`);
    const limits = {
      ...(values['max-sequence-tokens'] === undefined ? {} : { maxSequenceTokens: numberOption(values, 'max-sequence-tokens', 0, { integer: true, min: 1 }) }),
      ...(values['max-batch-tokens'] === undefined ? {} : { maxScoreBatchTokens: numberOption(values, 'max-batch-tokens', 0, { integer: true, min: 1 }) }),
    };
    const policy = await loadPolicy(model, { dtype, device: stringOption(values, 'device') ?? 'cpu', limits });
    try {
      const { logps } = await policy.score(sequences as number[][]);
      const rows = logps.map((row) => Array.from(row, (value, t) => (t === 0 ? null : value)));
      process.stdout.write(`${JSON.stringify({ logprobs: rows })}\n`);
      return 0;
    } finally {
      policy.dispose();
    }
  },
});
