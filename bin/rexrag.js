#!/usr/bin/env node
// The rexrag command line; the code lives in dist/lib/cli (compiled from lib/cli).
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
