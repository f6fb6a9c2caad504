import type { Deps } from '../../platform/deps.js';
import { commentReactionTarget } from '../comments/reaction-target.js';
import { postReactionTarget } from '../posts/reaction-target.js';
import { postsServicesFor } from '../posts/service.js';
import { videoReactionTarget } from '../videos/social.js';
import type { ReactionAdapters } from './service.js';

/** The kinds of things that can be liked and saved today (comments: likes only). */
export function reactionAdapters(deps: Deps): ReactionAdapters {
  return { post: postReactionTarget(postsServicesFor(deps)), comment: commentReactionTarget(deps), video: videoReactionTarget(deps) };
}
