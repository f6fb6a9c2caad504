import type { AppModule } from '../types.js';
import { emailJobs } from './email.js';
import { fanoutJobs } from './fanout.js';
import { notificationListeners } from './listeners.js';
import { pushJobs } from './push.js';
import { notificationsRoutes } from './routes.js';
import { notificationServicesFor } from './services.js';

export const notificationsModule: AppModule = {
  name: 'notifications',
  routes: notificationsRoutes,
  jobs: (deps) => {
    const s = notificationServicesFor(deps);
    return [...emailJobs(s.emails), ...pushJobs(s.push), ...fanoutJobs(s.fanout)];
  },
  listeners: notificationListeners,
};
