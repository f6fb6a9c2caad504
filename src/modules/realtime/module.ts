import type { AppModule } from '../types.js';
import { realtimeListeners } from './listeners.js';
import { realtimeRoutes } from './routes.js';

export const realtimeModule: AppModule = { name: 'realtime', routes: realtimeRoutes, listeners: realtimeListeners };
