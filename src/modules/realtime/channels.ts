import type { Deps } from '../../platform/deps.js';
import { postsServicesFor } from '../posts/service.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

export interface ChannelRule {
  pattern: RegExp;
  /** May this viewer listen? Same rules as reading the thing over HTTP. */
  authorise(viewerId: string, match: RegExpExecArray): Promise<boolean>;
}

/**
 * Named channels a client may subscribe to, each with its authorisation. `user:<id>` is not in
 * here: a socket joins its own user channel when it authenticates, and nobody else's. Later
 * modules add theirs (a video's live chat) to this list.
 */
export function channelRules(deps: Deps): ChannelRule[] {
  const { hydrator } = postsServicesFor(deps);
  return [
    {
      // New comments on a post: only for viewers who may see the post.
      pattern: new RegExp(`^post:(${UUID}):comments$`),
      authorise: async (viewerId, m) => (await hydrator.visibleRow(deps.database.db, viewerId, m[1]!, 'direct')) !== undefined,
    },
  ];
}

export type ChannelCheck = { ok: true } | { ok: false; code: 'realtime.unknown_channel' | 'realtime.forbidden_channel'; message: string };

export async function checkChannel(rules: ChannelRule[], viewerId: string, channel: string): Promise<ChannelCheck> {
  for (const rule of rules) {
    const m = rule.pattern.exec(channel);
    if (!m) continue;
    if (await rule.authorise(viewerId, m)) return { ok: true };
    return { ok: false, code: 'realtime.forbidden_channel', message: 'no such channel, or you may not listen to it' };
  }
  return { ok: false, code: 'realtime.unknown_channel', message: 'unknown channel; channels look like post:<id>:comments' };
}
