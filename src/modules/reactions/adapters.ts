import type { Deps } from '../../platform/deps.js';
import { postReactionTarget } from '../posts/reaction-target.js';
import { postsServicesFor } from '../posts/service.js';
import type { ReactionAdapters } from './service.js';

/** The kinds of things that can be liked and saved today. Comments and videos add theirs here when they land. */
export function reactionAdapters(deps: Deps): ReactionAdapters {
  return { post: postReactionTarget(postsServicesFor(deps)) };
}
