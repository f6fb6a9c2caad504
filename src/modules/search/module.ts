import type { AppModule } from '../types.js';
import { searchJobs, searchListeners } from './jobs.js';
import { searchRoutes } from './routes.js';

export const searchModule: AppModule = { name: 'search', routes: searchRoutes, jobs: searchJobs, listeners: searchListeners };
