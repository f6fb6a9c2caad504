import { mailJobs } from '../mail/jobs.js';
import type { AppModule, ModuleRoutes } from '../types.js';
import { oidcRoutes } from './oidc-routes.js';
import { authRootRoutes, authRoutes } from './routes.js';

/** Password and OpenID Connect sign-in live in separate files; the app mounts them as one module. */
const routes: ModuleRoutes = async (app, { deps }) => {
  await app.register(authRoutes, { deps });
  await app.register(oidcRoutes, { deps });
};

export const authModule: AppModule = { name: 'auth', routes, rootRoutes: authRootRoutes, jobs: (deps) => [...mailJobs(deps)] };
