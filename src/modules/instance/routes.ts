import { Type } from '@sinclair/typebox';
import { version } from '../../version.js';
import type { AppModule, ModuleRoutes } from '../types.js';
import { instanceJobs } from './jobs.js';

const routes: ModuleRoutes = async (app, { deps }) => {
  app.get(
    '/instance',
    {
      schema: {
        tags: ['instance'],
        summary: 'What this server is: software, version, public URL and limits clients must respect',
        response: {
          200: Type.Object({
            software: Type.Literal('social-flow'),
            version: Type.String(),
            apiVersion: Type.Literal('v1'),
            publicUrl: Type.String(),
            limits: Type.Object({ bodyBytes: Type.Integer(), requestsPerWindow: Type.Integer(), windowMs: Type.Integer() }),
          }),
        },
      },
    },
    async () => ({
      software: 'social-flow' as const,
      version,
      apiVersion: 'v1' as const,
      publicUrl: deps.config.publicUrl,
      limits: { bodyBytes: deps.config.bodyLimitBytes, requestsPerWindow: deps.config.rateLimit.max, windowMs: deps.config.rateLimit.windowMs },
    }),
  );
};

export const instanceModule: AppModule = { name: 'instance', routes, jobs: instanceJobs };
