// Small descriptive statistics over plain number arrays (means for metrics); nothing tensor-shaped lives here.

/** The arithmetic mean, or 0 for an empty list (metrics of an empty set read as 0, not NaN). */
export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length ? sum / values.length : 0;
}
