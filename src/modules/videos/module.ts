import type { AppModule, ModuleRoutes } from '../types.js';
import { hlsRoutes } from './hls-routes.js';
import { videoJobs } from './jobs.js';
import { videoRoutes } from './routes.js';
import { videoSocialRoutes } from './social-routes.js';
import { uploadRoutes } from './upload.js';

const routes: ModuleRoutes = async (app, { deps }) => {
  await app.register(videoRoutes, { deps });
  await app.register(hlsRoutes, { deps });
  await app.register(uploadRoutes, { deps });
  await app.register(videoSocialRoutes, { deps });
};

export const videosModule: AppModule = { name: 'videos', routes, jobs: videoJobs };
