import { eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelStoreFor } from '../../src/modules/moderation/models.js';
import { scoreText } from '../../src/modules/moderation/scoring.js';
import { mlModels, moderationLabels } from '../../src/modules/moderation/tables.js';
import { retrain, trainAndRegister } from '../../src/modules/moderation/training.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { spamData } from '../ml/support.js';
import { eventually } from './support.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ env: { MODERATION_RETRAIN_MIN_LABELS: '5' } });
});
afterAll(async () => env?.close());

async function activeSpam() {
  return modelStoreFor(env.deps).active('spam');
}

async function addLabels(rows: { text: string; label: number }[]) {
  await env.deps.database.db.insert(moderationLabels).values(rows.map((r) => ({ id: uuidv7(), task: 'spam' as const, text: r.text, label: r.label })));
}

describe('training and retraining', () => {
  it('trains a versioned artefact into storage and serves it for scoring', async () => {
    expect(await activeSpam()).toBeUndefined();
    expect((await scoreText(env.deps, 'check out my channel')).spamModel).toBe('lexicon');
    const out = await trainAndRegister(env.deps, 'spam', spamData(80));
    expect(out.activated).toBe(true);
    expect(out.score).toBeGreaterThan(0.9);
    const active = await activeSpam();
    expect(active?.version).toBe(out.version);
    const stored = await env.deps.storage.stat(`ml/models/spam/${out.version}.json`);
    expect(stored?.size).toBeGreaterThan(1000);
    const s = await scoreText(env.deps, 'subscribe to my channel for free gift cards');
    expect(s.spamModel).toBe(out.version);
    expect(s.spam).toBeGreaterThan(0.5);
    expect((await scoreText(env.deps, 'beautiful voice, the drummer is amazing')).spam).toBeLessThan(0.5);
  });

  it('a retrain that scores worse than the current model does not replace it', async () => {
    const before = await activeSpam();
    // Moderators' labels that contradict each other: the same texts labelled both ways.
    const noisy = spamData(60, 5).map((r, i) => ({ text: r.text, label: i % 3 === 0 ? 1 - r.label : r.label }));
    await addLabels(noisy);
    const [result] = (await retrain(env.deps)).filter((r) => r.task === 'spam');
    expect(result?.outcome).toBeDefined();
    expect(result!.outcome!.activated).toBe(false);
    expect(result!.outcome!.score).toBeLessThan(before!.score);
    expect((await activeSpam())?.version).toBe(before!.version);
    const rows = await env.deps.database.db.select().from(mlModels).where(eq(mlModels.task, 'spam'));
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.version === result!.outcome!.version)?.note).toMatch(/^kept previous/);
    // Scoring still uses the old model.
    expect((await scoreText(env.deps, 'follow me')).spamModel).toBe(before!.version);
  });

  it('skips with too few new labels; the scheduled job retrains and activates a model at least as good', async () => {
    const skipped = (await retrain(env.deps)).find((r) => r.task === 'spam');
    expect(skipped?.skipped).toMatch(/new labels/);
    await env.deps.database.db.delete(moderationLabels);
    await addLabels(spamData(100, 11));
    const before = await activeSpam();
    await env.deps.jobs.send('moderation.retrain', { force: true });
    const after = await eventually(async () => {
      const a = await activeSpam();
      return a && a.version !== before!.version ? a : undefined;
    }, 'the retrain job');
    expect(after.score).toBeGreaterThanOrEqual(before!.score);
  });

  it('refuses data with a single class', async () => {
    await expect(trainAndRegister(env.deps, 'offensive', [{ text: 'a', label: 0 }, { text: 'b', label: 0 }])).rejects.toThrow(/at least two classes/);
  });
});
