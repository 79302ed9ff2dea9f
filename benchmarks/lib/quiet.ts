// Waiting for a quiet machine before a measurement starts: on a shared machine, other processes running on the
// same cores slow libtorch's OpenMP teams far more than their CPU share suggests (every parallel region waits
// for a descheduled thread). The orchestrator samples /proc/stat and waits, within a budget, until the other
// load drops; it records how often it had to start anyway. It never stops other processes.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Busy and total jiffies of all CPUs together (the first line of /proc/stat). */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);  // idle + iowait
  return { busy: total - idle, total };
}

/** Cores kept busy, on average, over the next `ms` milliseconds (0 to the number of cores). */
export async function busyCores(cores: number, ms = 500): Promise<number> {
  const before = cpuTimes();
  await sleep(ms);
  const after = cpuTimes();
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * cores : 0;
}

export interface QuietBudget {
  /** Milliseconds this run may still spend waiting. */
  remainingMs: number;
  waitedMs: number;
  /** Measurements started while other work kept more than `threshold` cores busy. */
  startedBusy: number;
  measurements: number;
}

export function createQuietBudget(totalMs: number): QuietBudget {
  return { remainingMs: totalMs, waitedMs: 0, startedBusy: 0, measurements: 0 };
}

/**
 * Resolves when other processes keep fewer than `threshold` cores busy (this process is idle while it
 * waits), or after at most `maxWaitMs` or what is left of the budget; each check samples 0.5 s, with 1.5 s
 * pauses between checks.
 */
export async function waitForQuiet(budget: QuietBudget, cores: number, threshold = 0.3, maxWaitMs = 60_000): Promise<void> {
  budget.measurements += 1;
  const began = Date.now();
  let busy = await busyCores(cores);
  const available = Math.min(budget.remainingMs, maxWaitMs);
  while (busy >= threshold && Date.now() - began < available) {
    await sleep(1500);
    busy = await busyCores(cores);
  }
  const waited = Date.now() - began;
  budget.waitedMs += waited;
  budget.remainingMs = Math.max(0, budget.remainingMs - waited);
  if (busy >= threshold) budget.startedBusy += 1;
}
