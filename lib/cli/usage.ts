// Shared CLI pieces: the command shape, its definition from an option table, usage errors and the help text.
import { parseCommandArgs, type OptionSpec, type OptionValues } from './parse.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Bad command-line input; the CLI prints it on one line and exits 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export function formatUsage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['usage: rexrag <command> [options]', '', 'commands:', ...lines, '',
    'Run `rexrag <command> --help` for a command\'s options.', ''].join('\n');
}

/** A command from its option table and a body that receives the parsed values (--help is handled here). */
export function defineCommand(spec: {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  run(values: OptionValues): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    async run(argv) {
      const values = parseCommandArgs(argv, spec.options, spec.usage);
      return values ? spec.run(values) : 0;
    },
  };
}
