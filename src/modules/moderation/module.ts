import type { AppModule } from '../types.js';
import { moderationJobs, moderationListeners } from './jobs.js';
import { moderationRoutes } from './routes.js';

export const moderationModule: AppModule = { name: 'moderation', routes: moderationRoutes, jobs: moderationJobs, listeners: moderationListeners };
