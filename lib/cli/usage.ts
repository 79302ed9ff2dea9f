// Shared CLI pieces: the command shape, usage errors and the help text.

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
