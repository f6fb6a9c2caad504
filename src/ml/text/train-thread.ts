import { Worker } from 'node:worker_threads';
import { crossValidate, trainModel, type CrossValidation, type ModelArtefact, type TextTask, type TrainProgress } from './pipeline.js';

/**
 * Cross-validation and training of a text model off the event loop: in a worker thread, so the
 * scheduled retrain (and `ml train`) never stalls the requests the same process serves (in the
 * embedded mode one process is every role; an offensive retrain is 30-60 s of CPU).
 */
export interface TrainJob {
  task: TextTask;
  data: { text: string; label: number }[];
  folds: number;
  seed: number;
}

export interface Trained {
  evaluation: CrossValidation;
  artefact: ModelArtefact;
}

type Message = { type: 'progress'; stage: string; done: number; total: number } | { type: 'done'; result: Trained } | { type: 'error'; message: string };

/** What the thread runs (exported for it; callers use trainInThread). */
export function trainJob(job: TrainJob, progress?: TrainProgress): Trained {
  const evaluation = crossValidate(job.task, job.data, job.folds, job.seed, progress);
  const artefact = trainModel(job.task, job.data, evaluation, job.seed, progress);
  return { evaluation, artefact };
}

export function trainInThread(job: TrainJob, progress?: TrainProgress): Promise<Trained> {
  return new Promise<Trained>((resolve, reject) => {
    // The entry is plain JavaScript that registers tsx's loader in the thread, then imports this module.
    const worker = new Worker(new URL('./train-thread-entry.mjs', import.meta.url), { workerData: { module: import.meta.url, job } });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: Message) => {
      if (m.type === 'progress') progress?.(m.stage, m.done, m.total);
      else if (m.type === 'done') settle(() => resolve(m.result));
      else settle(() => reject(new Error(`training thread failed: ${m.message}`)));
    });
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`training thread exited with code ${code} before it finished`))));
  });
}
