// Public entry point of the rexrag package: the runtime, the policy model, training, rollouts, rewards,
// retrieval and configuration. Everything here is documented in the README.
export { LimitError, RexragError, isRexragError } from './errors.js';
export type { RexragErrorCode } from './errors.js';
export { runtimeInfo, setNumThreads, matmulBenchmark } from './runtime.js';
export type { MatmulOptions, MatmulResult, RuntimeInfo } from './runtime.js';

// Policy model: Qwen2 folders, generation sessions, scoring.
export { Policy, PolicySession } from './model/policy.js';
export type { PolicyOptions, ScoreOptions, ScoreResult } from './model/policy.js';
export { loadPolicy, savePolicyFolder } from './model/load-policy.js';
export { blockCacheStats, liveNativeSessions, releaseBlockCache, trimNativeMemory } from './model/native-memory.js';
export { DEFAULT_MAX_GENERATION_BATCH_TOKENS, DEFAULT_MAX_SCORE_BATCH_TOKENS, resolveTokenLimits } from './model/token-limits.js';
export type { TokenLimits } from './model/token-limits.js';
export type { GeneratedRow, GenerationSession, SamplingOptions, StopReason } from './model/generation-types.js';
export { loadGenerationConfig, loadModelConfig, parseModelConfig, toNativeConfig } from './model/hf-config.js';
export type { GenerationConfig, Qwen2Config } from './model/hf-config.js';
export { readSafetensorsHeader, resolveWeightFiles, writeSafetensors } from './model/safetensors.js';
export type { SafetensorsHeader, SafetensorsTensorInput } from './model/safetensors.js';
export { writeTinyModel } from './model/tiny-model.js';
export type { TinyModel, TinyModelOptions } from './model/tiny-model.js';
export { loadTokenizer, HfTokenizer } from './tokenizer/hf-tokenizer.js';
export type { ChatMessage, TextTokenizer } from './tokenizer/types.js';
export { DEFAULT_TEMPLATE_BUDGET } from './tokenizer/template-budget.js';
export type { TemplateBudget } from './tokenizer/template-budget.js';

// Training.
export { GrpoTrainer, loggedTrainMetrics } from './train/grpo-trainer.js';
export type { LossOptions, OptimizerOptions, StepMetrics, StepOptions, TrainerOptions, TrajectoryBatch } from './train/grpo-trainer.js';
export { STEP_METRIC_NAMES, TOKEN_KINDS, TOKEN_KIND_METRICS } from './native-types.js';
export type { StepMetricName, TokenKindMetricName } from './native-types.js';
export { latestCheckpoint, listCheckpoints, resumeFromCheckpoint, saveCheckpoint, validateCheckpoint } from './train/checkpoint.js';
export type { CheckpointState, ResumedRun, SaveCheckpointOptions } from './train/checkpoint.js';
export { runRl, questionsForStep } from './train/rl-loop.js';
export type { RlEvent, RlRunOptions, RlRunResult } from './train/rl-loop.js';
export { createAlgorithm, GrpoAlgorithm, RexRagAlgorithm } from './train/algorithms/index.js';
export type { RlAlgorithm, StepRollouts, ProbeSelection, MixtureScalars, BehaviourLogps } from './train/algorithms/index.js';
export { buildStepData } from './train/step-batch.js';
export { gatherRollouts, joinRankRollouts, localShare } from './train/data-parallel.js';
export type { JoinedRollouts, RankRollouts } from './train/data-parallel.js';
export { ProcessGroup, resolveBackend } from './distributed/process-group.js';
export type { ProcessGroupBackend, ProcessGroupOptions } from './distributed/process-group.js';
export { DISTRIBUTED_ENV_NAMES, readDistributedEnv } from './distributed/env.js';
export type { DistributedEnv } from './distributed/env.js';
export { launchLocalRanks } from './distributed/launch.js';
export type { LaunchOptions, LaunchResult } from './distributed/launch.js';
export type { StepData } from './train/step-batch.js';
export { supervisedWarmup } from './train/sft.js';
export type { SftExample, SftOptions } from './train/sft.js';
export { evaluate } from './eval/evaluate.js';
export type { EvalResult } from './eval/evaluate.js';
export { groupAdvantages } from './algo/advantages.js';
export type { GroupAdvantageOptions, GroupAdvantageResult, GroupStats } from './algo/advantages.js';

// Rollouts and rewards.
export { runRollouts } from './rollout/rollout-loop.js';
export { policyRollouts, runRolloutsInCohorts } from './rollout/cohorts.js';
export type { CohortRolloutOptions, RolloutPolicy } from './rollout/cohorts.js';
export type { ProbeContext, ProbeDecision, ProbeHook, RolloutEvent, RolloutOptions, RolloutQuestion, Trajectory } from './rollout/rollout-types.js';
export { COMPONENT, lossMaskFromComponents } from './algo/components.js';
export { buildPromptMessages, searchR1Prompt } from './rollout/search-r1-prompt.js';
export { isParquetPath, readQuestions, readQuestionsJsonl } from './data/questions.js';
export { readParquetInfo, readParquetRows } from './data/parquet-reader.js';
export { convertDataFile, inspectDataFile } from './data/data-files.js';
export { aggregateBySource, formatSourceTable, limitPerSource, scoreTrajectories, sourceMetrics } from './eval/by-source.js';
export type { QuestionScore, SourceTable } from './eval/by-source.js';
export { evaluateResumable } from './eval/run-eval.js';
export { evaluateCheckpoints, runCheckpoints } from './eval/checkpoint-sweep.js';
export { exactMatch, extractAnswer, normalizeAnswer, scoreAnswer, substringExactMatch, tokenF1 } from './reward/qa-em.js';

// Charts, figures, the dashboard and sample trajectories.
export { emBandsSpec, metricChartSpec, methodLabel, rangeBandsSpec, seriesChartSpec, seriesColors } from './report/chart-specs.js';
export type { ChartSpec, EmRow, MetricChartOptions, RangeRow, SeriesPoint } from './report/chart-specs.js';
export { elapsedMinutes, metricNames, metricPoints, smoothEma } from './report/metric-series.js';
export type { MetricLine, MetricPoint, RunMetrics } from './report/metric-series.js';
export { renderFigure, specToSvg } from './report/figures.js';
export { trajectoryHtml } from './report/trajectory-html.js';
export { startDashboard } from './dashboard/server.js';
export type { Dashboard, DashboardOptions } from './dashboard/server.js';
export { findRuns } from './dashboard/find-runs.js';
export { readSamples, sampleSteps, samplesPath } from './train/run-samples.js';
export type { SampleSegment, TrajectorySample } from './train/run-samples.js';

// Configuration.
export { lossConfigSchema, optimizerConfigSchema, stepConfigSchema, trainerConfigSchema } from './config/train-config.js';
export type { LossConfig, OptimizerConfig, StepConfig, TrainerConfig } from './config/train-config.js';
export { rlConfigSchema } from './config/rl-config.js';
export type { RlConfig, RlConfigInput } from './config/rl-config.js';
export { rolloutConfigSchema } from './config/rollout-config.js';
export type { RolloutConfig, RolloutConfigInput } from './config/rollout-config.js';
export { rexConfigSchema } from './config/rex-config.js';
export type { RexConfig, RexConfigInput } from './config/rex-config.js';
export { parseConfig, resolveConfig } from './config/resolve-config.js';

// Retrieval.
export * from './retrieval/index.js';
export { E5Embedder } from './retrieval/e5-embedder.js';

// REX-RAG building blocks (probe prompts, probe-policy density, policy correction, filtering, trigger).
export { EXPLORATION_PROMPTS, resolvePromptPool } from './explore/prompt-pool.js';
export { PromptTrie } from './explore/prompt-trie.js';
export { batchMixture, computeBehaviourLogps } from './algo/probe-policy.js';
export { nextKeepRatio, probeBudget, scoreProbe, selectProbes } from './algo/trajectory-filter.js';
export { createProbeTrigger, shouldProbe } from './explore/probe-trigger.js';
