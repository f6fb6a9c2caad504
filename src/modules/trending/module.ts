import type { AppModule } from '../types.js';
import { trendingJobs } from './jobs.js';
import { trendingRoutes } from './routes.js';

export const trendingModule: AppModule = { name: 'trending', routes: trendingRoutes, jobs: trendingJobs };
