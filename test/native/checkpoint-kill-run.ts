// The process checkpoint-kill.test.ts kills: a tiny GRPO run that resumes from its latest checkpoint when there
// is one, checkpointing every step. Prints "step N" as steps finish. Args: RUN_DIR MODEL_DIR INDEX_DIR STEPS.
import { loadPolicy } from '../../lib/model/load-policy.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { runRl } from '../../lib/train/rl-loop.js';

const [runDir, modelDir, indexDir, steps] = process.argv.slice(2) as [string, string, string, string];
const questions = ['Paris', 'Nile', 'Hamlet', 'Rome'].map((gold, i) => ({ id: `q${i}`, question: `Which one is ${gold}?`, golds: [gold] }));
const retriever = await LocalRetriever.open(indexDir);
const result = await runRl({
  config: {
    algorithm: 'rex-rag', steps: Number(steps), questionsPerStep: 2, groupSize: 2, seed: 11,
    rollout: { maxTurns: 1, maxResponseTokensPerTurn: 6, cohorts: 2 },
    rex: { probeProbability: 1 },
    trainer: { optimizer: { lr: 1e-2 }, loss: { klCoef: 0.01 } },
    eval: { every: 0, maxQuestions: 0 },
    checkpoint: { every: 1, keepLast: 2 },
  },
  policy: await loadPolicy(modelDir), retriever, trainQuestions: questions, runDir, resume: true,
  onEvent: (event) => void (event.type === 'step' && process.stdout.write(`step ${event.step}\n`)),
});
result.policy.dispose();
await retriever.close();
