import { describe, expect, it } from 'vitest';
import { crossValidate, trainModel } from '../../src/ml/text/pipeline.js';
import { trainInThread } from '../../src/ml/text/train-thread.js';
import { offensiveData, spamData } from './support.js';

describe('training in a worker thread', () => {
  it('gives what training inline gives, reports progress, and leaves the event loop free meanwhile', async () => {
    const data = offensiveData(120);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const stages = new Set<string>();
    let trained;
    try {
      trained = await trainInThread({ task: 'offensive', data, folds: 3, seed: 7 }, (stage) => stages.add(stage));
    } finally {
      clearInterval(timer);
    }
    // Timers kept firing while the thread trained (inline, the synchronous training would block them).
    expect(ticks).toBeGreaterThan(5);
    expect([...stages].sort()).toEqual(['cross-validating', 'training']);

    const inline = crossValidate('offensive', data, 3, 7);
    expect(trained.evaluation).toEqual(inline);
    const artefact = trainModel('offensive', data, inline, 7);
    expect(trained.artefact.parts).toEqual(artefact.parts);
    expect(trained.artefact.vectors).toEqual(artefact.vectors);
  });

  it('rejects with the thread\'s error, and the next training still works', async () => {
    await expect(trainInThread({ task: 'nonsense' as never, data: spamData(20), folds: 2, seed: 1 })).rejects.toThrow(/training thread failed/);
    const ok = await trainInThread({ task: 'spam', data: spamData(40), folds: 2, seed: 1 });
    expect(ok.artefact.task).toBe('spam');
  });
});
