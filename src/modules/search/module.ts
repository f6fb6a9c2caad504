import type { AppModule } from '../types.js';
import { searchRoutes } from './routes.js';

export const searchModule: AppModule = { name: 'search', routes: searchRoutes };
