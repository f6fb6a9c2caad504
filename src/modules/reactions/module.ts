import type { AppModule } from '../types.js';
import { reactionsJobs } from './jobs.js';
import { reactionsRoutes } from './routes.js';

export const reactionsModule: AppModule = { name: 'reactions', routes: reactionsRoutes, jobs: reactionsJobs };
