// `rexrag generate`: loads a model folder, generates one completion for a prompt, prints JSON.
import { LimitError } from '../errors.js';
import { loadPolicy } from '../model/load-policy.js';
import { DEFAULT_TEMPLATE_BUDGET } from '../tokenizer/template-budget.js';
import { numberOption, seedOption, stringOption, switchFlags, valueFlags } from './parse.js';
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
  --max-sequence-tokens N  prompt + new tokens allowed (default: the model's max_position_embeddings, the most)
  --max-batch-tokens N   KV-cache slots one generate call may allocate (default 1048576)
  --chat-template-chars N, --chat-template-ms N
                         budget of the chat template: output characters (default 1000000), render time (default 2000)
  --dtype float32|bfloat16, --device cpu|cuda[:N]
Prints {text, tokenIds, logprobs, modelLogprobs, stopReason, stopString?, promptTokens} as JSON.`;

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'generate a completion with a model folder (JSON out)',
  usage,
  options: {
    ...valueFlags('model', 'prompt', 'max-new-tokens', 'temperature', 'top-p', 'top-k', 'seed', 'dtype', 'device',
      'max-sequence-tokens', 'max-batch-tokens', 'chat-template-chars', 'chat-template-ms'),
    ...switchFlags('chat'), stop: { type: 'string', multiple: true },
  },
  async run(values) {
    const model = stringOption(values, 'model', true);
    const prompt = stringOption(values, 'prompt', true);
    const maxNewTokens = numberOption(values, 'max-new-tokens', 128, { integer: true, min: 1 });
    const temperature = numberOption(values, 'temperature', 1, { min: 0 });
    const topP = numberOption(values, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 });
    const topK = numberOption(values, 'top-k', 0, { integer: true, min: 0 });
    const seed = seedOption(values, 'seed', 0);
    const stopStrings = (values.stop as string[] | undefined) ?? [];
    const dtype = stringOption(values, 'dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new CliUsageError(`--dtype must be float32 or bfloat16, got "${dtype}"`);

    const limits = {
      ...(values['max-sequence-tokens'] === undefined ? {} : { maxSequenceTokens: numberOption(values, 'max-sequence-tokens', 0, { integer: true, min: 1 }) }),
      ...(values['max-batch-tokens'] === undefined ? {} : { maxGenerationBatchTokens: numberOption(values, 'max-batch-tokens', 0, { integer: true, min: 1 }) }),
    };
    const templateBudget = {
      maxOutputChars: numberOption(values, 'chat-template-chars', DEFAULT_TEMPLATE_BUDGET.maxOutputChars, { integer: true, min: 1 }),
      timeoutMs: numberOption(values, 'chat-template-ms', DEFAULT_TEMPLATE_BUDGET.timeoutMs, { integer: true, min: 1 }),
    };

    const policy = await loadPolicy(model, { dtype, device: stringOption(values, 'device') ?? 'cpu', limits });
    try {
      const tokenizer = policy.tokenizer;
      if (!tokenizer) throw new CliUsageError(`${model} has no tokenizer.json`);
      // Refused before the prompt is even tokenised: more new tokens than a sequence may hold.
      if (maxNewTokens >= policy.limits.maxSequenceTokens) {
        throw new LimitError(`--max-new-tokens ${maxNewTokens} leaves no room for the prompt in ${policy.limits.maxSequenceTokens} tokens per sequence (the model's max_position_embeddings or --max-sequence-tokens)`,
          'maxSequenceTokens', maxNewTokens, policy.limits.maxSequenceTokens - 1);
      }
      const text = values.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true, budget: templateBudget }) : prompt;
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
