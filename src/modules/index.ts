import type { Deps } from '../platform/deps.js';
import { adminModule } from './admin/module.js';
import { authModule } from './auth/module.js';
import { commentsModule } from './comments/module.js';
import { feedModule } from './feed/module.js';
import { graphModule } from './graph/module.js';
import { healthModule } from './health/routes.js';
import { instanceModule } from './instance/routes.js';
import { notificationsModule } from './notifications/module.js';
import { moderationModule } from './moderation/module.js';
import { postsModule } from './posts/module.js';
import { reactionsModule } from './reactions/module.js';
import { realtimeModule } from './realtime/module.js';
import { recommendationsModule } from './recommendations/module.js';
import { searchModule } from './search/module.js';
import { trendingModule } from './trending/module.js';
import type { AppModule } from './types.js';
import { usersModule } from './users/module.js';
import { videosModule } from './videos/module.js';

/** Every domain module, in the order their routes are registered. */
export const modules: AppModule[] = [healthModule, instanceModule, authModule, usersModule, graphModule, adminModule, postsModule, reactionsModule, feedModule, commentsModule, videosModule, notificationsModule, realtimeModule, moderationModule, searchModule, trendingModule, recommendationsModule];

/** Every process defines every job and event listener, so any role can enqueue one; only workers run them. */
export function defineJobs(deps: Deps): void {
  for (const m of modules) for (const def of m.jobs?.(deps) ?? []) deps.jobs.define(def);
  for (const m of modules) for (const sub of m.listeners?.(deps) ?? []) deps.events.subscribe(sub);
}
