import type { AppModule, ModuleRoutes } from '../types.js';
import { usersJobs } from './jobs.js';
import { profileRoutes } from './profile-routes.js';
import { usersRoutes } from './routes.js';

/** Only `deps` is passed down: the prefix is inherited, and passing it again would double it. */
const routes: ModuleRoutes = async (app, { deps }) => {
  await app.register(usersRoutes, { deps });
  await app.register(profileRoutes, { deps });
};

export const usersModule: AppModule = { name: 'users', routes, jobs: usersJobs };
