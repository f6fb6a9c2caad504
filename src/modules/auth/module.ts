import { mailJobs } from '../mail/jobs.js';
import type { AppModule } from '../types.js';
import { authRootRoutes, authRoutes } from './routes.js';

export const authModule: AppModule = { name: 'auth', routes: authRoutes, rootRoutes: authRootRoutes, jobs: (deps) => [...mailJobs(deps)] };
