// The addon loads, reports its runtime, runs torch work off the main thread, and turns every native failure
// into a RexragError with a code (never an abort).
import { availableParallelism } from 'node:os';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { native } from '../../lib/native.js';
import { matmulBenchmark, runtimeInfo, setNumThreads } from '../../lib/runtime.js';

test('runtimeInfo reports libtorch, threads set to the cores, and an optimised BLAS', (t) => {
  const info = runtimeInfo();
  t.regex(info.torchVersion, /^\d+\.\d+/);
  t.is(info.numThreads, Number(process.env.REXRAG_NUM_THREADS ?? availableParallelism()));
  t.is(typeof info.cudaAvailable, 'boolean');
  t.regex(info.blasLibrary, /openblas|mkl/i, `libtorch runs on ${info.blasLibrary}: install libopenblas0-openmp`);
});

test.serial('setNumThreads changes the thread count, also on the worker threads that run torch jobs', async (t) => {
  const before = runtimeInfo().numThreads;
  setNumThreads(1);
  t.is(runtimeInfo().numThreads, 1);
  t.is((await matmulBenchmark({ size: 64, reps: 1 })).threads, 1);
  setNumThreads(2);
  t.is((await matmulBenchmark({ size: 64, reps: 1 })).threads, 2);
  setNumThreads(before);
  t.is(runtimeInfo().numThreads, before);
});

test('matmulBenchmark runs off the main thread: a timer keeps firing during the call', async (t) => {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 5);
  const result = await matmulBenchmark({ size: 512, reps: 40, seed: 1 });
  clearInterval(timer);
  t.true(result.seconds > 0.02, `took ${result.seconds} s`);
  t.true(ticks >= 2, `only ${ticks} timer ticks during a ${result.seconds.toFixed(3)} s call`);
  t.true(Number.isFinite(result.checksum));
  t.true(result.gflops > 0);
  const again = await matmulBenchmark({ size: 64, reps: 1, seed: 1 });
  const same = await matmulBenchmark({ size: 64, reps: 1, seed: 1 });
  t.is(again.checksum, same.checksum, 'same seed, same matrices');
});

test('a libtorch error becomes a RexragError with code ERR_TORCH and no C++ backtrace', async (t) => {
  const error = await t.throwsAsync(matmulBenchmark({ size: 8, reps: 1, device: 'not-a-device' }));
  t.true(error instanceof RexragError);
  t.is((error as RexragError).code, 'ERR_TORCH');
  t.notRegex(error!.message, /Exception raised from|frame #/);
});

test('the native layer re-checks arguments: range errors are ERR_INVALID_ARG, wrong types TypeError', async (t) => {
  const binding = native();
  const error = await t.throwsAsync(binding.matmulBenchmark({ size: 0, reps: 1 }));
  t.is((error as RexragError).code, 'ERR_INVALID_ARG');
  t.regex(error!.message, /size must be in \[1, 16384\], got 0/);
  t.throws(() => binding.matmulBenchmark({ size: 'big', reps: 1 } as never), { instanceOf: TypeError, message: /options\.size must be a number, got string/ });
  t.throws(() => binding.matmulBenchmark(null as never), { instanceOf: TypeError, message: /options must be an object, got null/ });
  t.throws(() => binding.setNumThreads('2' as never), { instanceOf: TypeError, message: /numThreads must be a number/ });
  t.throws(() => binding.setNumThreads(0), { instanceOf: RexragError, message: /numThreads must be at least 1/ });
});

test('the TypeScript layer validates before crossing into native code', async (t) => {
  t.throws(() => matmulBenchmark({ size: 2.5, reps: 1 }), { instanceOf: TypeError, message: /options\.size must be an integer/ });
  t.throws(() => matmulBenchmark({ size: 8, reps: 0 }), { instanceOf: RangeError, message: /options\.reps must be >= 1/ });
});
