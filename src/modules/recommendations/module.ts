import type { AppModule } from '../types.js';
import { recommendationsJobs } from './jobs.js';
import { engagementListeners } from './listeners.js';
import { recommendationsRoutes } from './routes.js';

export const recommendationsModule: AppModule = { name: 'recommendations', routes: recommendationsRoutes, jobs: recommendationsJobs, listeners: engagementListeners };
