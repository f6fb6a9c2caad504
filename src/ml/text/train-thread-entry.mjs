// The training thread's entry (see train-thread.ts). The app's TypeScript runs through tsx's loader,
// which the main thread registered (bin/social-flow.js, or tsx/vitest in development) and a worker
// thread does not inherit: this plain JavaScript file registers it, then imports the TypeScript.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

try {
  register();
  const { trainJob } = await import(workerData.module);
  const result = trainJob(workerData.job, (stage, done, total) => parentPort.postMessage({ type: 'progress', stage, done, total }));
  parentPort.postMessage({ type: 'done', result });
} catch (err) {
  parentPort.postMessage({ type: 'error', message: (err && err.stack) || String(err) });
}
