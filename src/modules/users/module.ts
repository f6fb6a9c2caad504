import type { AppModule } from '../types.js';
import { usersRoutes } from './routes.js';

export const usersModule: AppModule = { name: 'users', routes: usersRoutes };
