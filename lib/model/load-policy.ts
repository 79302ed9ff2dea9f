// A policy from a Hugging Face folder (config.json, safetensors weights, tokenizer files) and back to one.
// Parsing and checking the files is done by hf-config.ts, safetensors.ts and the tokenizer loader; this file
// wires them to the native model and writes folders atomically.
import { randomBytes } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { RexragError } from '../errors.js';
import { replaceFolder } from '../util/atomic-file.js';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { expectString } from '../validate.js';
import { checkWeights, expectedQwen2Weights, loadModelConfig, toNativeConfig } from './hf-config.js';
import { checkModelFolder, readRegularFile, type ModelFolderOptions } from './model-files.js';
import { Policy, type PolicyOptions } from './policy.js';
import { resolveWeightFiles, toNativeWeightFiles } from './safetensors.js';
import { checkConfigFitsWeights } from './weights-budget.js';
import { makeFolder } from '../util/make-folder.js';

/** Files copied verbatim when a policy is saved next to its source folder. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];

/**
 * The source folder's config.json and tokenizer files, read when the policy was loaded. A saved policy takes them
 * from here, so saving still works when that folder is gone (a checkpoint pruned after the run resumed from it).
 */
const folderFiles = new WeakMap<Policy, Map<string, Buffer>>();

/** config.json and the tokenizer files present in `dir`, by name. */
async function readFolderFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of ['config.json', ...TOKENIZER_FILES]) {
    if (await exists(join(dir, name))) files.set(name, await readRegularFile(join(dir, name)));
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Loads a Qwen2/Qwen2.5 folder: config.json, model.safetensors (or shards with model.safetensors.index.json) and,
 * when present, tokenizer.json. Loading is strict: missing, unexpected and mis-shaped weights are listed by name.
 * Only regular files are read; symbolic links must stay inside the folder (or the Hugging Face cache repository
 * folder of a snapshot) unless `options.allowExternalLinks` or REXRAG_ALLOW_EXTERNAL_LINKS says otherwise.
 */
export async function loadPolicy(dir: string, options: PolicyOptions & ModelFolderOptions = {}): Promise<Policy> {
  expectString(dir, 'dir', { nonEmpty: true });
  const { allowExternalLinks, ...policyOptions } = options;
  await checkModelFolder(dir, { allowExternalLinks });
  const config = await loadModelConfig(dir);
  const headers = await resolveWeightFiles(dir);
  checkConfigFitsWeights(config, headers, join(dir, 'config.json')); // before the expected-weight list is built
  checkWeights(expectedQwen2Weights(config), headers);
  const tokenizer = (await exists(join(dir, 'tokenizer.json'))) ? await loadTokenizer(dir) : undefined;
  const policy = await Policy.fromWeightFiles(toNativeConfig(config), toNativeWeightFiles(headers), {
    ...policyOptions,
    ...(tokenizer ? { tokenizer } : {}),
  });
  policy.sourceDir = resolve(dir);
  folderFiles.set(policy, await readFolderFiles(dir));
  return policy;
}

/**
 * Writes the policy as an HF folder at `dir`: model.safetensors, config.json and the tokenizer files of the folder
 * it was loaded from (as read at load time; `options.sourceDir` names another folder to take them from). Atomic: everything goes to a temporary sibling folder that replaces `dir` only when complete.
 */
export async function savePolicyFolder(
  policy: Policy,
  dir: string,
  options: { dtype?: 'float32' | 'bfloat16'; sourceDir?: string; extraConfig?: Record<string, unknown> } = {},
): Promise<void> {
  expectString(dir, 'dir', { nonEmpty: true });
  const target = resolve(dir);
  const temp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(4).toString('hex')}`);
  await makeFolder(temp);
  try {
    await policy.saveWeights(join(temp, 'model.safetensors'), options.dtype ?? 'float32');
    const sourceDir = options.sourceDir ?? (folderFiles.has(policy) ? undefined : policy.sourceDir);
    const source = sourceDir ? await readFolderFiles(sourceDir) : folderFiles.get(policy) ?? new Map<string, Buffer>();
    const sourceConfigText = source.get('config.json');
    const sourceConfig = sourceConfigText ? (JSON.parse(sourceConfigText.toString('utf8')) as Record<string, unknown>) : {};
    const config = {
      ...sourceConfig,
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      hidden_act: 'silu',
      torch_dtype: options.dtype ?? 'float32',
      ...options.extraConfig,
      ...policy.config,
    };
    await writeFile(join(temp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    for (const file of TOKENIZER_FILES) {
      const content = source.get(file);
      if (content) await writeFile(join(temp, file), content);
    }
    await replaceFolder(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error instanceof RexragError ? error : new RexragError(`cannot save the policy to ${dir}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
}
