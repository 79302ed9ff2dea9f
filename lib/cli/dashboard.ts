// `rexrag dashboard RUN_DIR...`: serves the live dashboard over the runs given (library: startDashboard) until
// SIGINT/SIGTERM. Prints the address on stderr.
import { parseArgs } from 'node:util';

import { startDashboard } from '../dashboard/server.js';
import { numberOption, stringOption } from './parse.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag dashboard RUN_DIR... [--port 6006] [--host 127.0.0.1]
  Charts the metrics of every run given, or found below a folder given (any folder with a metrics.jsonl),
  live as the runs write them, with their sample trajectories (RUN/samples/) and configs.
  --port N             TCP port (default 6006; 0 picks a free one)
  --host ADDRESS       interface to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --poll-ms N          how often the metrics files are read, in ms (default 1000)
  example: rexrag dashboard runs/lab/runs    (GRPO and REX-RAG of the lab, side by side)`;

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'live charts of runs in the browser (metrics, sample trajectories, configs)',
  usage,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { port: { type: 'string' }, host: { type: 'string' }, 'poll-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new CliUsageError('give at least one run folder (or a folder that holds runs)');
    const dashboard = await startDashboard({
      paths: positionals,
      host: stringOption(values, 'host') ?? '127.0.0.1',
      port: numberOption(values, 'port', 6006, { min: 0, max: 65535, integer: true }),
      pollMs: numberOption(values, 'poll-ms', 1000, { min: 50, integer: true }),
    });
    const runs = dashboard.runs();
    process.stderr.write(`rexrag dashboard: ${dashboard.url} (${runs.length} run${runs.length === 1 ? '' : 's'} so far: ${runs.map((r) => r.name).join(', ') || 'none yet'})\n`);
    const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
      process.once('SIGINT', () => resolveSignal('SIGINT'));
      process.once('SIGTERM', () => resolveSignal('SIGTERM'));
    });
    process.stderr.write(`rexrag dashboard: ${signal}, closing\n`);
    await dashboard.close();
    return 0;
  },
};
