// Torch jobs run one at a time, in order, and a failing job does not stall the queue.
import test from 'ava';

import { enqueueTorchJob, pendingTorchJobs } from '../../lib/torch-queue.js';

test.serial('jobs never overlap and run in submission order', async (t) => {
  let running = 0;
  let maxRunning = 0;
  const order: number[] = [];
  const job = (id: number, ms: number) => async () => {
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    order.push(id);
    running -= 1;
    return id;
  };
  const results = await Promise.all([enqueueTorchJob(job(1, 30)), enqueueTorchJob(job(2, 1)), enqueueTorchJob(job(3, 10))]);
  t.deepEqual(results, [1, 2, 3]);
  t.deepEqual(order, [1, 2, 3]);
  t.is(maxRunning, 1);
  t.is(pendingTorchJobs(), 0);
});

test.serial('a rejected job rejects its own promise only', async (t) => {
  const failing = enqueueTorchJob(async () => {
    throw new Error('boom');
  });
  const next = enqueueTorchJob(async () => 'ok');
  await t.throwsAsync(failing, { message: 'boom' });
  t.is(await next, 'ok');
});
