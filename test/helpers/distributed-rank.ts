// One rank of the data-parallel tests, run as a child process with torchrun's environment: `collectives`
// exercises the process group, `trainer` takes three data-parallel GRPO steps on its share of a fixed batch.
// Prints one JSON line with what it got.
import { ProcessGroup } from '../../lib/distributed/process-group.js';
import { Policy } from '../../lib/model/policy.js';
import { localShare } from '../../lib/train/data-parallel.js';
import { GrpoTrainer } from '../../lib/train/grpo-trainer.js';
import { fixedBatch, tinyConfig, trainerOptions, STEP_OPTIONS } from './distributed-batch.js';

const mode = process.argv[2];
const group = (await ProcessGroup.fromEnv({ timeoutSeconds: Number(process.env.TEST_TIMEOUT ?? 60) }))!;
if (mode === 'collectives') {
  const rank = group.rank;
  const sum = await group.allReduce([rank + 1, 10 * (rank + 1)], 'sum');
  const max = await group.allReduce([rank, -rank], 'max');
  const gathered = await group.allGather([rank, rank * 2 + 0.5]);
  const json = await group.allGatherJson({ rank, text: 'x'.repeat(rank * 3) });
  await group.barrier();
  process.stdout.write(`${JSON.stringify({ rank, worldSize: group.worldSize, backend: group.backend, sum: [...sum], max: [...max], gathered: gathered.map((g) => [...g]), json })}\n`);
} else if (mode === 'trainer') {
  // Rank 1 starts from other weights: setProcessGroup must broadcast rank 0's.
  const policy = await Policy.random(tinyConfig, { seed: 5 + group.rank });
  const trainer = await GrpoTrainer.create(policy, trainerOptions);
  await trainer.setProcessGroup(group);
  const batch = fixedBatch();
  const metrics = [];
  for (let step = 0; step < 3; step++) {
    const mine = batch.ids.map((_, k) => k % group.worldSize === group.rank);
    metrics.push(await trainer.step(localShare(batch, mine), { ...STEP_OPTIONS, seed: step }));
  }
  const parameters = Object.fromEntries(policy.parameters().map(({ name }) => [name, Array.from(policy.parameterValues(name))]));
  process.stdout.write(`${JSON.stringify({ rank: group.rank, metrics, parameters })}\n`);
  trainer.dispose();
  policy.dispose();
}
group.dispose();
