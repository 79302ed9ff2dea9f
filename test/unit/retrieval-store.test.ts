// The document store: rows read back by random access, resumption truncates to a checkpoint, and damaged
// or mismatched files are refused.
import { appendFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { DocumentStore, DocumentStoreWriter, DOCUMENTS_FILE, OFFSETS_FILE } from '../../lib/retrieval/doc-store.js';
import { generateCorpus, removeTemporaryFolders, temporaryFolder } from '../helpers/retrieval-corpus.js';

test.after.always(removeTemporaryFolders);

test('rows come back by index in any order, extra fields and unicode included', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(300, { seed: 3 });
  rows[5] = { ...rows[5]!, contents: '"Zürich – 東京"\nnaïve café 🚀', url: 'u', tags: ['a', 'b'] };
  const writer = await DocumentStoreWriter.open(folder);
  await writer.append(rows.slice(0, 120));
  await writer.append([]);
  await writer.append(rows.slice(120));
  await writer.sync();
  t.is(writer.checkpoint().documents, 300);
  await writer.close();

  const store = await DocumentStore.open(folder, 300);
  t.is(store.size, 300);
  for (const index of [299, 0, 5, 150, 120, 119, 5]) t.deepEqual(await store.get(index), rows[index]);
  t.deepEqual(await store.getMany([3, 3, 250]), [rows[3], rows[3], rows[250]]);
  await t.throwsAsync(store.get(300), { instanceOf: RangeError, message: /index must be <= 299/ });
  await store.close();
});

test('opening for resumption drops whatever was written after the checkpoint', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(50, { seed: 4 });
  const writer = await DocumentStoreWriter.open(folder);
  await writer.append(rows.slice(0, 20));
  const checkpoint = writer.checkpoint();
  await writer.append(rows.slice(20, 30)); // as if a crash happened after the checkpoint
  await writer.close();
  await appendFile(join(folder, DOCUMENTS_FILE), '{"torn": ');

  const resumed = await DocumentStoreWriter.open(folder, checkpoint);
  await resumed.append(rows.slice(20));
  await resumed.close();
  const store = await DocumentStore.open(folder);
  t.is(store.size, 50);
  t.deepEqual(await store.getMany([19, 20, 49]), [rows[19], rows[20], rows[49]]);
  await store.close();
});

test('a store whose files disagree is refused with ERR_IO', async (t) => {
  const folder = await temporaryFolder();
  const writer = await DocumentStoreWriter.open(folder);
  await writer.append(generateCorpus(10).rows);
  await writer.close();
  const wrongCount = await t.throwsAsync(DocumentStore.open(folder, 11));
  t.true(isRexragError(wrongCount, 'ERR_IO'));
  t.regex(wrongCount!.message, /lists 10 documents but the manifest says 11/);

  await appendFile(join(folder, DOCUMENTS_FILE), 'x');
  const mismatch = await t.throwsAsync(DocumentStore.open(folder));
  t.regex(mismatch!.message, /does not match/);

  await truncate(join(folder, OFFSETS_FILE), 13);
  const torn = await t.throwsAsync(DocumentStore.open(folder));
  t.regex(torn!.message, /not a whole number/);

  const resumeTooFar = await t.throwsAsync(DocumentStoreWriter.open(folder, { documents: 100, documentsBytes: 1 << 20 }));
  t.regex(resumeTooFar!.message, /--restart/);
});
