import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Deps } from '../platform/deps.js';
import type { EventSubscription } from '../platform/events/index.js';
import type { JobDefinition } from '../platform/jobs/index.js';

export type ModuleRoutes = FastifyPluginAsyncTypebox<{ deps: Deps }>;

/** A domain module as the app sees it: routes under /api/v1, routes at the root, and its jobs. */
export interface AppModule {
  name: string;
  /** Mounted under /api/v1. */
  routes?: ModuleRoutes;
  /** Mounted at the root (health checks, well-known documents, signed file URLs). */
  rootRoutes?: ModuleRoutes;
  jobs?: (deps: Deps) => JobDefinition[];
  /** Listeners to other modules' domain events (run as jobs on workers). */
  listeners?: (deps: Deps) => EventSubscription[];
}
