// The fuzzer's child process: loads each model folder it is sent with loadPolicy and answers how it ended
// (loaded, or the error's name, code and message). A native crash ends the process, which the parent sees.
import { loadPolicy } from '../../lib/model/load-policy.js';

process.on('message', (message: { id: number; dir: string }) => {
  void (async () => {
    try {
      const policy = await loadPolicy(message.dir);
      policy.dispose();
      process.send!({ id: message.id, outcome: 'loaded' });
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      process.send!({ id: message.id, outcome: 'error', name: e?.name, code: e?.code, message: String(e?.message).slice(0, 300) });
    }
  })();
});
process.send!({ id: -1, outcome: 'ready' });
