// The shared `--index DIR | --retriever URL` choice of the commands that search (REXRAG_TOKEN: the server's token).
import { HttpRetriever } from '../retrieval/http-client.js';
import { LocalRetriever } from '../retrieval/local-retriever.js';
import type { Retriever } from '../retrieval/types.js';
import { type OptionValues, stringOption } from './parse.js';
import { CliUsageError } from './usage.js';

export const retrieverOptions = { index: { type: 'string' }, retriever: { type: 'string' } } as const;

/** Opens the index or connects to the server; call close() when done. */
export async function openRetriever(values: OptionValues): Promise<Retriever & { close(): Promise<void> }> {
  const index = stringOption(values, 'index');
  const url = stringOption(values, 'retriever');
  if ((index === undefined) === (url === undefined)) throw new CliUsageError('give exactly one of --index DIR or --retriever URL');
  if (index) return LocalRetriever.open(index);
  // A server started with a token (REXRAG_TOKEN) is called with the same variable.
  const token = process.env.REXRAG_TOKEN || undefined;
  const client = new HttpRetriever({ url: url!, ...(token ? { token } : {}) });
  return Object.assign(client, { close: async () => undefined });
}
