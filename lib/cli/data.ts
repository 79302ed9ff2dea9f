// `rexrag data inspect FILE` and `rexrag data convert FILE --to jsonl|parquet --out FILE`: look into a
// question file (Search-R1 parquet or JSONL) and convert between the two (library: lib/data/data-files.ts).
import { parseArgs } from 'node:util';

import { convertDataFile, inspectDataFile } from '../data/data-files.js';
import { checkOutputFile } from './output-file.js';
import { numberOption, stringOption } from './parse.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag data inspect FILE
       rexrag data convert FILE --to jsonl|parquet --out FILE [--row-group-size N]
  inspect   prints JSON on stdout: format, rows, rowGroups, schema (one line per column, nested ones indented),
            rows per data_source, and the first three rows
  convert   parquet -> JSONL (one object per row, nested columns as arrays/objects) or JSONL -> parquet (schema
            inferred from the rows: strings, int64, doubles, booleans, lists and structs; snappy; row groups of
            --row-group-size rows, default 10000). Rows are streamed, never all held in memory.`;

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect a question file (parquet or JSONL) or convert it between parquet and JSONL',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined || action === '--help' || action === '-h') {
      process.stdout.write(`${usage}\n`);
      return action === undefined ? 2 : 0;
    }
    if (action !== 'inspect' && action !== 'convert') throw new CliUsageError(`unknown data action "${action}"; use inspect or convert`);
    let values: Record<string, string | boolean | undefined>;
    let files: string[];
    try {
      const parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { to: { type: 'string' }, out: { type: 'string' }, 'row-group-size': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      values = parsed.values;
      files = parsed.positionals;
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (files.length !== 1) throw new CliUsageError(`data ${action} takes one FILE, got ${files.length}`);
    const file = files[0]!;
    if (action === 'inspect') {
      if (values.to !== undefined || values.out !== undefined) throw new CliUsageError('--to and --out belong to data convert');
      process.stdout.write(`${JSON.stringify(await inspectDataFile(file), null, 2)}\n`);
      return 0;
    }
    const to = stringOption(values, 'to', true);
    if (to !== 'jsonl' && to !== 'parquet') throw new CliUsageError(`--to must be jsonl or parquet, got "${to}"`);
    const out = stringOption(values, 'out', true);
    await checkOutputFile(out, 'out');
    const rowGroupSize = numberOption(values, 'row-group-size', 10_000, { integer: true, min: 1 });
    const { rows } = await convertDataFile(file, out, to, { rowGroupSize });
    process.stderr.write(`rexrag data: wrote ${rows} rows to ${out}\n`);
    return 0;
  },
};
