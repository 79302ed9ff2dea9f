// The typed shape of the addon's exports. Every heavy call returns a Promise (it runs on a worker thread).

export interface RuntimeInfo {
  torchVersion: string;
  numThreads: number;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  /** The BLAS shared object mapped into the process (OpenBLAS is ~40x faster than the reference BLAS). */
  blasLibrary: string;
  parallelInfo: string;
}

export interface MatmulOptions {
  size: number;
  reps: number;
  device?: string;
  seed?: number;
}

export interface MatmulResult {
  size: number;
  reps: number;
  seconds: number;
  gflops: number;
  checksum: number;
  device: string;
}

export interface NativeBinding {
  runtimeInfo(): RuntimeInfo;
  setNumThreads(numThreads: number): void;
  setErrorClass(errorClass: new (message: string, code: never) => Error): void;
  matmulBenchmark(options: MatmulOptions): Promise<MatmulResult>;
}
