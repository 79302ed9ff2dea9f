// A step's rollout rows bounded before any work: every row of a cohort goes into one generate call, and each
// row needs at least two KV-cache slots (one prompt token, one new token), so a group size the generation
// budget can never hold is refused at once, instead of building millions of rows first (issue 16: a huge
// groupSize hung). The bound is a floor, so it never refuses a run that could have worked.
import { LimitError } from '../errors.js';
import type { TokenLimits } from '../model/token-limits.js';

/** KV-cache slots a row needs at the least: one prompt token and one generated token. */
const MIN_SLOTS_PER_ROW = 2;

/** Rows of the largest cohort when `questions` questions of `groupSize` rows are split into `cohorts` cohorts. */
export function rowsPerCohort(questions: number, groupSize: number, cohorts: number): number {
  const used = Math.max(1, Math.min(cohorts, questions));
  return Math.ceil(questions / used) * groupSize;
}

/** Throws a LimitError naming `groupName` when one cohort's rows cannot fit in one generate call. */
export function checkRolloutRows(options: { questions: number; groupSize: number; cohorts: number; limits: Pick<TokenLimits, 'maxGenerationBatchTokens'>; groupName: string }): void {
  const rows = rowsPerCohort(options.questions, options.groupSize, options.cohorts);
  const max = options.limits.maxGenerationBatchTokens;
  if (rows * MIN_SLOTS_PER_ROW > max) {
    throw new LimitError(
      `${options.groupName} ${options.groupSize} makes ${rows} rows in one cohort's generate call, and each needs at least ` +
        `${MIN_SLOTS_PER_ROW} KV-cache slots: over the ${max} slots of maxGenerationBatchTokens. Lower the group size or the ` +
        'questions per step, or raise rollout.cohorts',
      'maxGenerationBatchTokens', rows * MIN_SLOTS_PER_ROW, max,
    );
  }
}
