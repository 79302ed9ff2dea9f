// Public entry point of the rexrag package.
export { RexragError, isRexragError } from './errors.js';
export type { RexragErrorCode } from './errors.js';
export { runtimeInfo, setNumThreads, matmulBenchmark } from './runtime.js';
export type { MatmulOptions, MatmulResult, RuntimeInfo } from './runtime.js';
