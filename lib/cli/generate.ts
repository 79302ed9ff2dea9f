// `rexrag generate`: loads a model folder, generates one completion for a prompt, prints JSON.
import { loadPolicy } from '../model/load-policy.js';
import { numberOption, stringOption, switchFlags, valueFlags } from './parse.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag generate --model DIR --prompt TEXT [options]
  --model DIR            Hugging Face folder (config.json, *.safetensors, tokenizer.json)
  --prompt TEXT          the prompt text
  --chat                 wrap the prompt as a user turn with the folder's chat template
  --max-new-tokens N     default 128
  --temperature T        default 1; 0 is greedy
  --top-p P              default 1
  --top-k K              default 0 (off)
  --seed S               default 0
  --stop STR             stop right after STR (repeatable)
  --dtype float32|bfloat16, --device cpu|cuda[:N]
Prints {text, tokenIds, logprobs, modelLogprobs, stopReason, stopString?, promptTokens} as JSON.`;

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'generate a completion with a model folder (JSON out)',
  usage,
  options: {
    ...valueFlags('model', 'prompt', 'max-new-tokens', 'temperature', 'top-p', 'top-k', 'seed', 'dtype', 'device'),
    ...switchFlags('chat'), stop: { type: 'string', multiple: true },
  },
  async run(values) {
    const model = stringOption(values, 'model', true);
    const prompt = stringOption(values, 'prompt', true);
    const maxNewTokens = numberOption(values, 'max-new-tokens', 128, { integer: true, min: 1 });
    const temperature = numberOption(values, 'temperature', 1, { min: 0 });
    const topP = numberOption(values, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 });
    const topK = numberOption(values, 'top-k', 0, { integer: true });
    const seed = numberOption(values, 'seed', 0, { integer: true, min: 0 });
    const stopStrings = (values.stop as string[] | undefined) ?? [];
    const dtype = stringOption(values, 'dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new CliUsageError(`--dtype must be float32 or bfloat16, got "${dtype}"`);

    const policy = await loadPolicy(model, { dtype, device: stringOption(values, 'device') ?? 'cpu' });
    try {
      const tokenizer = policy.tokenizer;
      if (!tokenizer) throw new CliUsageError(`${model} has no tokenizer.json`);
      const text = values.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
      const promptTokens = tokenizer.encode(text);
      if (promptTokens.length === 0) throw new CliUsageError('the prompt encodes to no tokens');
      const session = policy.createSession();
      const row = session.addRow(promptTokens);
      const [result] = await session.generate([row], {
        temperature, topP, topK, maxNewTokens, seed, stopStrings, eosTokenIds: tokenizer.eosTokenIds,
      });
      session.dispose();
      process.stdout.write(`${JSON.stringify({
        text: tokenizer.decode(result!.tokens),
        tokenIds: result!.tokens,
        logprobs: result!.logprobs,
        modelLogprobs: result!.modelLogprobs,
        stopReason: result!.stopReason,
        ...(result!.stopString === undefined ? {} : { stopString: result!.stopString }),
        promptTokens: promptTokens.length,
      })}\n`);
      return 0;
    } finally {
      policy.dispose();
    }
  },
});
