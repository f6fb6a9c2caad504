import type { Deps } from '../../platform/deps.js';
import { commentsServiceFor } from '../comments/service.js';
import { postsServicesFor } from '../posts/service.js';
import { NotificationEmails } from './email.js';
import { VideoFanout } from './fanout.js';
import { PushService } from './push.js';
import { NotificationsService } from './service.js';

export interface NotificationServices {
  notifications: NotificationsService;
  emails: NotificationEmails;
  push: PushService;
  fanout: VideoFanout;
}

const built = new WeakMap<Deps, NotificationServices>();

/** One set per Deps, shared by routes, listeners and jobs (they hold no state of their own). */
export function notificationServicesFor(deps: Deps): NotificationServices {
  let s = built.get(deps);
  if (!s) {
    const { users, hydrator } = postsServicesFor(deps);
    const notifications = new NotificationsService(deps, users, hydrator, commentsServiceFor(deps));
    s = { notifications, emails: new NotificationEmails(deps, users, notifications), push: new PushService(deps, notifications), fanout: new VideoFanout(deps, users) };
    built.set(deps, s);
  }
  return s;
}
