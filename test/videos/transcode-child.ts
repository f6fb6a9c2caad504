// A worker process for the crash test. `seed`: create a user and a video from a clip, ingest it
// (probe + queue the transcode) and work on it until the parent SIGKILLs this process group.
// `work`: start on the same data, let the expired job run again, exit once the video is ready.
import { appendFileSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { loadConfig } from '../../src/config.js';
import { defineJobs } from '../../src/modules/index.js';
import { users } from '../../src/modules/users/tables.js';
import { ingestUpload } from '../../src/modules/videos/ingest.js';
import { videosServiceFor } from '../../src/modules/videos/service.js';
import { sourceStoreFor } from '../../src/modules/videos/source.js';
import { videos } from '../../src/modules/videos/tables.js';
import { closeDeps, createDeps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';

const [mode, dataDir, databaseUrl, template, out, clip] = process.argv.slice(2) as [string, string, string, string, string, string];
const config = loadConfig(
  {
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl || undefined,
    LOG_LEVEL: 'silent',
    SECRET_KEY: 'k'.repeat(32),
    VIDEO_LADDER: '144,240,360',
    VIDEO_SEGMENT_SECONDS: '2',
    VIDEO_X264_PRESET: 'fast',
    VIDEO_TRANSCODE_TIMEOUT_SECONDS: '40',
  },
  { persistSecret: false },
);
const deps = await createDeps(config, createLogger('silent'), {
  pgliteTemplate: template ? new Blob([readFileSync(template)]) : undefined,
  migrate: false,
  jobPollingIntervalSeconds: 0.5,
  jobMaintenanceIntervalSeconds: 1,
});
defineJobs(deps);
await deps.jobs.start();
await deps.jobs.work();

if (mode === 'seed') {
  const userId = uuidv7();
  await deps.database.db.insert(users).values({ id: userId, username: `crash_${process.pid}`, email: `crash_${process.pid}@example.test` } as typeof users.$inferInsert);
  const { id } = await videosServiceFor(deps).create(userId, { title: 'crash test' });
  const source = await sourceStoreFor(deps);
  mkdirSync(path.join(dataDir, 'uploads'), { recursive: true });
  copyFileSync(clip, await source.location(id));
  await ingestUpload(deps, source, id);
  appendFileSync(out, `seeded ${id}\n`);
} else {
  const id = /seeded (\S+)/.exec(readFileSync(out, 'utf8'))![1]!;
  for (;;) {
    const [v] = await deps.database.db.select().from(videos).where(eq(videos.id, id));
    if (v?.status === 'ready' || v?.status === 'failed') {
      appendFileSync(out, `${v.status}\n`);
      break;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await closeDeps(deps);
  process.exit(0);
}
