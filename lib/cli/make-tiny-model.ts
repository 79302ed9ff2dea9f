// `rexrag make-tiny-model`: writes a tiny random Qwen2 folder (config, weights, tokenizer) for tests and demos.
// The folder format is lib/model/tiny-model.ts's business; this file only parses options and prints a summary.
import { writeTinyModel } from '../model/tiny-model.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, stringOption, switchFlags, valueFlags } from './parse.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = [
  'usage: rexrag make-tiny-model --out DIR [--seed N] [--dtype float32|bfloat16] [--shards N] [--tie]',
  '  Writes a tiny Hugging Face-style Qwen2 folder (2 layers, hidden 64) with seeded random weights and a small',
  '  byte-level BPE tokenizer with a ChatML chat template. Prints a JSON summary.',
  '  --out DIR      folder to write (created if missing)',
  '  --seed N       weight seed, an integer in [0, 2^32) (default 0)',
  '  --dtype T      float32 (default) or bfloat16',
  '  --shards N     write N safetensors shards and an index instead of model.safetensors (default 1)',
  '  --tie          tie the LM head to the token embeddings',
].join('\n');

export const makeTinyModelCommand = defineCommand({
  name: 'make-tiny-model',
  summary: 'write a tiny random Qwen2 model folder (weights, config, tokenizer) for tests and demos',
  usage,
  options: { ...valueFlags('out', 'seed', 'dtype', 'shards'), ...switchFlags('tie') },
  async run(values) {
    const out = stringOption(values, 'out', true);
    await checkOutputFolder(out, 'out');
    const dtype = stringOption(values, 'dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new CliUsageError(`--dtype must be float32 or bfloat16, got "${dtype}"`);
    const model = await writeTinyModel(out, {
      seed: numberOption(values, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }),
      dtype,
      shards: numberOption(values, 'shards', 1, { integer: true, min: 1 }),
      tieWordEmbeddings: values.tie === true,
    });
    const summary = {
      dir: model.dir,
      files: model.files,
      vocab_size: model.config.vocab_size,
      tokenizer_vocab_size: model.tokenizerVocabSize,
      special_token_ids: { '<|endoftext|>': model.endOfTextId, '<|im_start|>': model.imStartId, '<|im_end|>': model.imEndId },
      tie_word_embeddings: model.config.tie_word_embeddings,
      torch_dtype: model.config.torch_dtype,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  },
});
