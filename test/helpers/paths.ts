// Paths shared by tests: the package root (tests run from dist/test/...) and the CLI entry.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(packageRoot, 'bin', 'rexrag.js');
