// The rexrag side of one measurement, run by the orchestrator (run.ts) in a fresh Node process so earlier work
// cannot pollute its timing or peak memory: reads a JSON task on stdin, runs the named workload's measure
// function, prints one JSON line on stdout. Errors become {"ok": false, "error": ...}.
import { measureGeneration } from './workloads/generation.js';
import { measureGrpo } from './workloads/grpo.js';
import { measureLabStep } from './workloads/lab-step.js';
import { measureLimits } from './workloads/limits.js';
import { measureLogprobs } from './workloads/logprobs.js';
import { measureParity } from './workloads/parity.js';
import { measureRetrieval } from './workloads/retrieval.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const measures: Record<string, (task: any) => Promise<Record<string, unknown>>> = {
  limits: measureLimits,
  parity: measureParity,
  generation: measureGeneration,
  logprobs: measureLogprobs,
  grpo: measureGrpo,
  'lab-step': measureLabStep,
  retrieval: measureRetrieval,
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  let answer: Record<string, unknown>;
  try {
    const task = JSON.parse(await readStdin()) as { workload?: string };
    const measure = task.workload ? measures[task.workload] : undefined;
    if (!measure) throw new Error(`unknown workload ${JSON.stringify(task.workload)}; known: ${Object.keys(measures).join(', ')}`);
    answer = await measure(task);
  } catch (error) {
    const err = error as Error;
    process.stderr.write(`${err.stack ?? err.message}\n`);
    answer = { ok: false, error: err.message };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

await main();
