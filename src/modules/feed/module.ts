import type { AppModule } from '../types.js';
import { feedJobs, feedListeners } from './jobs.js';
import { feedRoutes } from './routes.js';

export const feedModule: AppModule = { name: 'feed', routes: feedRoutes, jobs: feedJobs, listeners: feedListeners };
