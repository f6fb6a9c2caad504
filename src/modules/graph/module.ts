import type { AppModule } from '../types.js';
import { graphJobs, graphListeners } from './jobs.js';
import { graphRoutes } from './routes.js';

export const graphModule: AppModule = { name: 'graph', routes: graphRoutes, jobs: graphJobs, listeners: graphListeners };
