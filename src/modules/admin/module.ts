import type { AppModule } from '../types.js';
import { adminRoutes } from './routes.js';

export const adminModule: AppModule = { name: 'admin', routes: adminRoutes };
