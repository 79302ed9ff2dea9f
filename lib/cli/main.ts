// The `rexrag` command line: parses arguments and calls one library function per command.
// Results go to stdout as JSON; progress and errors go to stderr; bad input exits 2, failures exit 1.
import { commands } from './commands.js';
import { CliUsageError, formatUsage } from './usage.js';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(formatUsage(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`rexrag: unknown command "${name}"; run \`rexrag --help\` for the list\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const usage = error instanceof CliUsageError || error instanceof TypeError || error instanceof RangeError;
    const message = error instanceof Error ? error.message : String(error);
    // One line on stderr: multi-line messages (lists of problems) are joined.
    const oneLine = message.split('\n').map((line) => line.trim()).filter(Boolean).join('; ');
    const hint = usage ? ` (see \`rexrag ${name} --help\`)` : '';
    process.stderr.write(`rexrag ${name}: ${oneLine}${hint}\n`);
    return usage ? 2 : 1;
  }
}
