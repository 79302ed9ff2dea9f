// A quiet machine for measurements: on a shared machine, other processes running on the same cores slow
// libtorch's OpenMP teams far more than their CPU share suggests (every parallel region waits for a descheduled
// thread). The orchestrator samples /proc/stat and waits, within a budget, until other load drops before a
// measurement, and afterwards works out how many cores other processes kept busy during it (all CPU time minus
// this process's and its children's), so a disturbed measurement can be repeated or flagged. It never stops
// other processes.
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

/** CPU time so far: of the whole machine (/proc/stat), of this process and of its reaped children. */
export interface CpuSnapshot {
  busy: number;
  total: number;
  own: number;
}

/** Clock ticks (USER_HZ, like /proc/stat) used by this process (utime + stime) and its reaped children (cutime + cstime). */
function ownTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);  // fields[0] is the state (field 3)
  return fields[11]! + fields[12]! + fields[13]! + fields[14]!;
}

export function cpuSnapshot(): CpuSnapshot {
  return { ...cpuTimes(), own: ownTicks() };
}

/** Cores that processes other than this one and its children kept busy, on average, between two snapshots. */
export function otherBusyCores(before: CpuSnapshot, after: CpuSnapshot, cores: number): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  const others = after.busy - before.busy - (after.own - before.own);
  return Math.max(0, (others / total) * cores);
}

/** Other load (in cores) above which a measurement counts as disturbed. */
export const BUSY_THRESHOLD = 0.3;

export interface QuietBudget {
  /** Milliseconds this run may still spend waiting for quiet or repeating disturbed measurements. */
  remainingMs: number;
  waitedMs: number;
  /** Measurement starts (repeats included) while other work kept more than the threshold busy. */
  startedBusy: number;
  /** Measurements run (a repeat counts once). */
  measurements: number;
  /** Measurements repeated because other load disturbed them. */
  repeated: number;
  /** Labels of measurements whose kept result was still disturbed, with the other load in cores. */
  disturbed: string[];
}

export function createQuietBudget(totalMs: number): QuietBudget {
  return { remainingMs: totalMs, waitedMs: 0, startedBusy: 0, measurements: 0, repeated: 0, disturbed: [] };
}

/**
 * Resolves when other processes keep fewer than `threshold` cores busy (this process is idle while it
 * waits), or after at most `maxWaitMs` or what is left of the budget; each check samples 0.5 s, with 1.5 s
 * pauses between checks.
 */
export async function waitForQuiet(budget: QuietBudget, cores: number, threshold = BUSY_THRESHOLD, maxWaitMs = 60_000): Promise<void> {
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
