// The only module that loads the compiled addon. Loading is lazy (the first call to native()), so the pure
// TypeScript parts of rexrag work without libtorch. When loading fails, the error lists every path tried,
// why each failed, and how to fix it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RexragError } from './errors.js';
import type { NativeBinding } from './native-types.js';

export type { NativeBinding } from './native-types.js';

const require = createRequire(import.meta.url);
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let binding: NativeBinding | undefined;

/** Candidate addon paths, most specific first. */
export function addonCandidates(): string[] {
  const candidates: string[] = [];
  if (process.env.REXRAG_ADDON) candidates.push(resolve(process.env.REXRAG_ADDON));
  candidates.push(join(packageRoot, 'build', 'Release', 'rexrag.node'));
  candidates.push(join(packageRoot, 'build', 'Debug', 'rexrag.node'));
  return candidates;
}

/** The thread count the addon is given when it loads: REXRAG_NUM_THREADS, else the number of cores. */
export function defaultThreadCount(): number {
  const fromEnv = Number(process.env.REXRAG_NUM_THREADS);
  return Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : availableParallelism();
}

/**
 * Loads the first loadable addon among `candidates`; throws RexragError(ERR_ADDON_LOAD) listing every path tried,
 * why each failed, and how to fix it.
 */
export function loadAddon(candidates: string[]): NativeBinding {
  const attempts: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) {
      attempts.push(`  ${path}: not found`);
      continue;
    }
    try {
      const loaded = require(path) as NativeBinding;
      if (typeof loaded.runtimeInfo !== 'function') throw new Error('not a rexrag addon (no runtimeInfo export)');
      return loaded;
    } catch (error) {
      attempts.push(`  ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new RexragError(
    [
      'the rexrag native addon could not be loaded. Tried:',
      ...attempts,
      'To fix it:',
      '  - run `npm run bootstrap` in the package folder: it installs libtorch-dev and libopenblas0-openmp',
      '    with apt when missing and builds the addon with cmake-js;',
      '  - or build it yourself: `npx cmake-js build` (needs libtorch; set Torch_DIR for your own build);',
      '  - or set REXRAG_ADDON to the path of a built rexrag.node.',
    ].join('\n'),
    'ERR_ADDON_LOAD',
  );
}

/** Loads the addon on first use and returns it; throws RexragError(ERR_ADDON_LOAD) with a fix when it can't. */
export function native(): NativeBinding {
  if (binding) return binding;
  const loaded = loadAddon(addonCandidates());
  loaded.setErrorClass(RexragError);
  loaded.setNumThreads(defaultThreadCount());
  binding = loaded;
  return loaded;
}

/** True once the addon has loaded (it never loads as a side effect of this call). */
export function nativeLoaded(): boolean {
  return binding !== undefined;
}
