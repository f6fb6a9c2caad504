import type { AppModule } from '../types.js';
import { commentsRoutes } from './routes.js';

export const commentsModule: AppModule = { name: 'comments', routes: commentsRoutes };
