// A data-parallel process group on libtorch's c10d (TCPStore rendezvous, Gloo on CPU, NCCL on CUDA) and the few
// collectives the RL step needs: all-reduce and all-gather of small float64 arrays, an all-gather of JSON values,
// and a barrier. Every rank must issue the same collectives in the same order; a failed one (another rank
// stopped) is an ERR_DISTRIBUTED error, after which the group is unusable.
import { RexragError } from '../errors.js';
import { NativeOwner } from '../model/native-owner.js';
import { native } from '../native.js';
import type { NativeProcessGroup } from '../native-types.js';
import { expectInteger, expectNumber, expectString } from '../validate.js';
import { readDistributedEnv, type DistributedEnv } from './env.js';

export type ProcessGroupBackend = 'auto' | 'gloo' | 'nccl';

export interface ProcessGroupOptions extends DistributedEnv {
  /** Rendezvous and every collective; default 1800 s (torch.distributed's default). */
  timeoutSeconds?: number;
  /** 'auto': nccl when `device` is CUDA and the build has NCCL, else gloo. Default 'auto'. */
  backend?: ProcessGroupBackend;
  /** The policy's device ('cpu', 'cuda', 'cuda:1'...), for the 'auto' backend. Default 'cpu'. */
  device?: string;
  /** Gloo's network interface; default GLOO_SOCKET_IFNAME, else derived from masterAddr. */
  interface?: string;
}

/** The backend 'auto' resolves to: NCCL for CUDA policies when the build has it, else Gloo. */
export function resolveBackend(backend: ProcessGroupBackend, device: string, hasNccl: boolean): 'gloo' | 'nccl' {
  if (backend !== 'auto') return backend;
  return device.startsWith('cuda') && hasNccl ? 'nccl' : 'gloo';
}

export class ProcessGroup extends NativeOwner<NativeProcessGroup> {
  private constructor(handle: NativeProcessGroup) {
    super(handle, 'process group');
  }

  /** Joins the group: resolves once every rank has (rank 0 hosts the TCPStore at masterAddr:masterPort). */
  static async create(options: ProcessGroupOptions): Promise<ProcessGroup> {
    const worldSize = expectInteger(options.worldSize, 'options.worldSize', { min: 1 });
    const rank = expectInteger(options.rank, 'options.rank', { min: 0, max: worldSize - 1 });
    const binding = native();
    const info = binding.distributedInfo();
    if (!info.c10d) {
      throw new RexragError(
        'this rexrag addon was built without c10d/Gloo, so it cannot train on several processes: install Gloo\'s headers ' +
          '(Debian: apt-get install -y libgloo-dev) and rebuild the addon (npm run bootstrap)',
        'ERR_INVALID_ARG',
      );
    }
    const backend = resolveBackend(options.backend ?? 'auto', options.device ?? 'cpu', info.nccl);
    const handle = await binding.createProcessGroup({
      masterAddr: expectString(options.masterAddr, 'options.masterAddr', { nonEmpty: true }),
      masterPort: expectInteger(options.masterPort, 'options.masterPort', { min: 1, max: 65535 }),
      rank,
      worldSize,
      timeoutSeconds: expectNumber(options.timeoutSeconds ?? 1800, 'options.timeoutSeconds', { min: 0.001 }),
      backend,
      interface: options.interface ?? process.env.GLOO_SOCKET_IFNAME ?? '',
      // NCCL reduces CUDA tensors only: a rank's device is its LOCAL_RANK's GPU unless the device names one.
      device: backend === 'nccl' ? (/^cuda:\d+$/.test(options.device ?? '') ? options.device! : `cuda:${options.localRank}`) : '',
    });
    return new ProcessGroup(handle);
  }

  /** The group of the environment's rank (env.ts), or undefined for a single-process run. */
  static async fromEnv(options: Omit<ProcessGroupOptions, keyof DistributedEnv> = {}, env: NodeJS.ProcessEnv = process.env): Promise<ProcessGroup | undefined> {
    const place = readDistributedEnv(env);
    return place ? ProcessGroup.create({ ...place, ...options }) : undefined;
  }

  get rank(): number {
    this.checkLive();
    return this.handle.rank;
  }

  get worldSize(): number {
    this.checkLive();
    return this.handle.worldSize;
  }

  get backend(): string {
    this.checkLive();
    return this.handle.backend;
  }

  /** The native handle, for the trainer that all-reduces its gradients over this group. */
  nativeHandle(): NativeProcessGroup {
    this.checkLive();
    return this.handle;
  }

  /** Element-wise sum (max, min) of every rank's values; every rank passes as many. */
  async allReduce(values: ArrayLike<number>, op: 'sum' | 'max' | 'min' = 'sum'): Promise<Float64Array> {
    this.checkLive();
    return this.handle.allReduce(Float64Array.from(values), op);
  }

  /** Every rank's values, in rank order; every rank passes as many. */
  async allGather(values: ArrayLike<number>): Promise<Float64Array[]> {
    this.checkLive();
    return this.handle.allGather(Float64Array.from(values));
  }

  /** Every rank's JSON value, in rank order (any sizes). */
  async allGatherJson<T>(value: T): Promise<T[]> {
    this.checkLive();
    const parts = await this.handle.allGatherBytes(new TextEncoder().encode(JSON.stringify(value)));
    const decoder = new TextDecoder();
    return parts.map((bytes) => JSON.parse(decoder.decode(bytes)) as T);
  }

  /** Resolves when every rank has reached it. */
  async barrier(): Promise<void> {
    this.checkLive();
    await this.handle.barrier();
  }
}
