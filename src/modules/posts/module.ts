import type { AppModule, ModuleRoutes } from '../types.js';
import { postsJobs } from './jobs.js';
import { postsReadRoutes } from './routes.js';
import { postsWriteRoutes } from './write-routes.js';

/** Only `deps` is passed down: the prefix is inherited, and passing it again would double it. */
const routes: ModuleRoutes = async (app, { deps }) => {
  await app.register(postsReadRoutes, { deps });
  await app.register(postsWriteRoutes, { deps });
};

export const postsModule: AppModule = { name: 'posts', routes, jobs: postsJobs };
