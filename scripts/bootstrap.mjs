#!/usr/bin/env node
// Idempotent set-up behind `npm start` / `npm test`: system packages, node_modules, native addon, TypeScript.
// Pure Node built-ins, because it runs before anything is installed. Each step is skipped when its inputs
// have not changed since it last succeeded (content hashes kept in stamp files), so a second run takes seconds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// libgloo-dev: the Gloo headers c10d's ProcessGroupGloo needs (data-parallel training).
const APT_PACKAGES = ['libtorch-dev', 'libopenblas0-openmp', 'libgloo-dev'];
const GLOO_HEADER = '/usr/include/gloo/config.h';
const quiet = process.argv.includes('--quiet');

function log(message) {
  if (!quiet) process.stderr.write(`[bootstrap] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[bootstrap] error: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status}`);
}

function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Hash of file paths and contents below the given roots (files or folders), in a stable order. */
function hashTree(paths, extra = '', keep = () => true) {
  const hash = createHash('sha256');
  hash.update(extra);
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stats = statSync(path);
    if (stats.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else if (keep(path)) {
      hash.update(relative(root, path));
      hash.update(readFileSync(path));
    }
  };
  for (const path of paths) visit(join(root, path));
  return hash.digest('hex');
}

function stampMatches(stampFile, digest) {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest;
}

function writeStamp(stampFile, digest) {
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, `${digest}\n`);
}

// 1. Debian packages: libtorch, an optimised BLAS (the default reference BLAS is ~40x slower) and Gloo's headers.
function ensureSystemPackages() {
  if (process.env.REXRAG_SKIP_APT === '1') return log('REXRAG_SKIP_APT=1: not checking Debian packages');
  const wanted = process.env.Torch_DIR ? APT_PACKAGES.filter((p) => p !== 'libtorch-dev') : APT_PACKAGES;
  if (!commandExists('dpkg-query')) {
    return log(`no dpkg-query: not a Debian system; make sure libtorch and an optimised BLAS are installed`);
  }
  const missing = wanted.filter((name) => {
    const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return !(query.stdout ?? '').includes('install ok installed');
  });
  if (missing.length === 0) return;
  const install = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing Debian packages: ${missing.join(' ')}`);
  if (process.getuid?.() === 0) {
    run('sh', ['-c', install], { env });
  } else if (commandExists('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) {
    run('sudo', ['-n', 'sh', '-c', `DEBIAN_FRONTEND=noninteractive ${install}`]);
  } else {
    fail(`missing Debian packages ${missing.join(', ')}; install them as root with:\n  sudo sh -c '${install}'\n` +
      `or point Torch_DIR at your own libtorch and set REXRAG_SKIP_APT=1`);
  }
}

// 1b. For `npm test` only: Debian's chromium, which the dashboard's browser test drives. Optional: when it cannot
// be installed the bootstrap goes on and that test reports itself skipped.
function ensureTestBrowser() {
  if (!process.argv.includes('--with-browser') || process.env.REXRAG_SKIP_APT === '1') return;
  if (existsSync('/usr/bin/chromium') || !commandExists('dpkg-query')) return;
  const install = 'apt-get update && apt-get install -y chromium';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result;
  log('installing Debian\'s chromium for the dashboard\'s browser test');
  if (process.getuid?.() === 0) result = spawnSync('sh', ['-c', install], { cwd: root, stdio: 'inherit', env });
  else if (commandExists('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) {
    result = spawnSync('sudo', ['-n', 'sh', '-c', `DEBIAN_FRONTEND=noninteractive ${install}`], { cwd: root, stdio: 'inherit' });
  }
  if (result?.status !== 0) log(`could not install chromium (run as root: ${install}); the browser test will be skipped`);
}

// 2. node_modules, in step with package-lock.json.
function ensureNodeModules() {
  const stamp = join(root, 'node_modules', '.rexrag-lock-stamp');
  const digest = hashTree(['package-lock.json'], process.version);
  if (existsSync(join(root, 'node_modules')) && stampMatches(stamp, digest)) return;
  log('node_modules is missing or out of date with package-lock.json');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeStamp(stamp, digest);
}

// 3. The native addon, rebuilt only when its sources or the libtorch it builds against change.
function ensureAddon() {
  const stamp = join(root, 'build', '.rexrag-native-stamp');
  // Gloo's headers decide whether c10d is compiled in: installing them later rebuilds the addon.
  const digest = hashTree(['native', 'CMakeLists.txt'], `${process.version} ${process.env.Torch_DIR ?? ''} gloo:${existsSync(GLOO_HEADER)}`);
  const addon = join(root, 'build', 'Release', 'rexrag.node');
  if (existsSync(addon) && stampMatches(stamp, digest)) return;
  log('building the native addon (cmake-js)');
  // Resolved like a module, so it is found when rexrag is itself installed as a dependency (hoisted).
  const cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const configured = ['build.ninja', 'Makefile'].some((file) => existsSync(join(root, 'build', file)));
  if (!configured) run(process.execPath, [cmakeJs, 'reconfigure', '--out', 'build']);
  const jobs = String(Math.max(1, Number(process.env.REXRAG_BUILD_JOBS ?? 2)));
  run(process.execPath, [cmakeJs, 'build', '--out', 'build', '--parallel', jobs]);
  writeStamp(stamp, digest);
}

// 4. TypeScript, recompiled only when a source or the config changed.
function ensureTypeScript() {
  const stamp = join(root, 'dist', '.rexrag-ts-stamp');
  // Only what tsc reads: a benchmark run's results files or a Python reference do not make dist stale.
  const digest = hashTree(['lib', 'test', 'benchmarks', 'tsconfig.json'], process.version, (path) => /\.(ts|json)$/.test(path) && !path.includes(`${join('benchmarks', 'results')}`));
  if (existsSync(join(root, 'dist', 'lib', 'index.js')) && stampMatches(stamp, digest)) return;
  log('compiling TypeScript');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  writeStamp(stamp, digest);
}

const started = Date.now();
if (process.argv.includes('--addon-only')) {
  // npm's install hook (also when rexrag is installed as a dependency): node_modules is being set up by npm.
  ensureAddon();
} else {
  ensureSystemPackages();
  ensureTestBrowser();
  ensureNodeModules();
  ensureAddon();
  ensureTypeScript();
}
log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
