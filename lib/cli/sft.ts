// `rexrag sft`: supervised warm start (behaviour cloning) of a model folder on demonstration trajectories
// (demos.jsonl), with progress on stderr, checkpoints, --resume, metrics JSONL and the final model in OUT/model.
import { readSftDemos } from '../data/sft-demos.js';
import { PROMPT_TEMPLATES, type PromptTemplate } from '../rollout/search-r1-prompt.js';
import { runSft } from '../train/sft.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, seedOption, parseCommandArgs, stringOption } from './parse.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag sft --model DIR --data demos.jsonl --out DIR [options]
  --prompt-template T    search-r1 (default: Search-R1's instruction, for real models) or compact (question only)
  --epochs N             passes over the demonstrations (default 1)
  --batch-size N         demonstrations per step (default 32)
  --lr X                 peak AdamW learning rate (default 1e-3; use ~1e-5 for a real model)
  --warmup-steps N       linear warm-up steps (default 0)
  --schedule S           cosine (default, to 0.1 x lr) or constant
  --seed N               shuffling seed (default 0)
  --checkpoint-every N   save OUT/checkpoints/step-N every N steps (default 0: only at the end)
  --max-steps N          stop after N steps in total
  --resume               continue from the latest checkpoint in OUT/checkpoints (same data and settings)
demos.jsonl: one demonstration a line, {"question": "...", "segments": [{"kind": "model", "text": "<search> q </search>"},
{"kind": "information", "text": "\\n\\n<information>...</information>\\n\\n"}, {"kind": "model", "text": "<answer> a </answer>"}]}.
The loss is on "model" segments only. OUT receives config.json, metrics.jsonl (step, epoch, nll, tokens, lr,
seconds), checkpoints/ and model/ (a Hugging Face folder that rexrag train, eval and generate load).`;

export const sftCommand: Command = {
  name: 'sft',
  summary: 'warm-start a model on demonstration trajectories (supervised, with checkpoints and resume)',
  usage,
  async run(argv) {
    const values = parseCommandArgs(argv, {
      model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, 'prompt-template': { type: 'string' },
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, 'warmup-steps': { type: 'string' },
      schedule: { type: 'string' }, seed: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'max-steps': { type: 'string' },
      resume: { type: 'boolean' },
    }, usage);
    if (!values) return 0;
    const template = stringOption(values, 'prompt-template') ?? 'search-r1';
    if (!PROMPT_TEMPLATES.includes(template as PromptTemplate)) throw new CliUsageError(`--prompt-template must be one of ${PROMPT_TEMPLATES.join(', ')}, got "${template}"`);
    const schedule = stringOption(values, 'schedule') ?? 'cosine';
    if (schedule !== 'cosine' && schedule !== 'constant') throw new CliUsageError(`--schedule must be cosine or constant, got "${schedule}"`);
    const outDir = stringOption(values, 'out', true);
    await checkOutputFolder(outDir, 'out');
    const seed = seedOption(values, 'seed', 0);
    const demos = await readSftDemos(stringOption(values, 'data', true));
    const maxSteps = values['max-steps'] === undefined ? undefined : numberOption(values, 'max-steps', 1, { integer: true, min: 1 });
    let lastPrint = 0;
    const result = await runSft({
      modelDir: stringOption(values, 'model', true),
      demos,
      outDir,
      promptTemplate: template as PromptTemplate,
      epochs: numberOption(values, 'epochs', 1, { integer: true, min: 1 }),
      batchSize: numberOption(values, 'batch-size', 32, { integer: true, min: 1 }),
      lr: numberOption(values, 'lr', 1e-3, { min: 0 }),
      warmupSteps: numberOption(values, 'warmup-steps', 0, { integer: true, min: 0 }),
      schedule,
      seed,
      checkpointEvery: numberOption(values, 'checkpoint-every', 0, { integer: true, min: 0 }),
      resume: values.resume === true,
      ...(maxSteps === undefined ? {} : { maxSteps }),
      onStep: (s) => {
        if (s.step === s.steps || s.seconds - lastPrint >= 2) {
          lastPrint = s.seconds;
          process.stderr.write(`step ${s.step}/${s.steps} (epoch ${s.epoch + 1}): NLL ${s.nll.toFixed(4)}, lr ${s.lr.toExponential(2)}, ${s.seconds.toFixed(0)} s\n`);
        }
      },
    });
    process.stderr.write(`${result.startStep > 0 ? `resumed at step ${result.startStep}; ` : ''}${result.steps} steps in ${result.seconds.toFixed(0)} s; model: ${result.modelDir}\n`);
    return 0;
  },
};
