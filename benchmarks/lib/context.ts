// What the orchestrator hands each workload: the run's sizes, a scratch folder for weight files, whether the
// PyTorch reference is available, the machine limits measured so far, per-shape parity verdicts, and the
// figure list the workload appends to. Each workload file runs its rexrag and PyTorch children itself.
import { join } from 'node:path';

import type { ModelShape, Sizes } from './config.js';
import type { Figure } from './report.js';

export interface ParityVerdict {
  /** false when the reference could not run (then nothing is compared and the PyTorch side is not timed). */
  checked: boolean;
  passed: boolean;
  detail: string;
}

export interface BenchContext {
  sizes: Sizes;
  tempDir: string;
  python: { available: true; torchVersion: string } | { available: false; reason: string };
  limits: { matmulGflops?: number; readGBps?: number };
  parity: Map<string, ParityVerdict>;
  figures: Figure[];
  notes: string[];
  log(message: string): void;
}

/** Where the random weights of a shape are saved for the reference to load (safetensors, HF names). */
export function weightsPath(context: BenchContext, shape: ModelShape): string {
  return join(context.tempDir, `${shape.id}.safetensors`);
}

/** A workload: a name for --only, and its orchestration (which appends figures to the context). */
export interface Workload {
  name: string;
  description: string;
  run(context: BenchContext): Promise<void>;
}

/** A child answer field as a number (or null when absent). */
export function numberField(answer: Record<string, unknown> | undefined, key: string): number | null {
  const value = answer?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
