/**
 * The kinds of notification, what each may be grouped by, and the defaults a new account gets.
 * One list drives the preferences schema, the listeners and the email digest.
 */
export const NOTIFICATION_TYPES = [
  'follow',
  'follow_request',
  'follow_accepted',
  'like',
  'repost',
  'reply',
  'quote',
  'mention',
  'comment',
  'comment_reply',
  'video_published',
  'video_ready',
  'video_failed',
  'moderation',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const CHANNELS = ['inApp', 'email', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];
export type ChannelPrefs = Record<Channel, boolean>;
export type Preferences = Record<NotificationType, ChannelPrefs>;

export type SubjectType = 'post' | 'comment' | 'video' | 'user';

interface TypeRule {
  /** Actions of many people on one thing within this window become one row ("Ana and 12 others"). */
  groupWindowMs?: number;
  /** Low priority types are emailed in a digest, never one email each. */
  lowPriority: boolean;
  defaults: ChannelPrefs;
}

const HOUR = 3600_000;
const on = (email: boolean, push: boolean): ChannelPrefs => ({ inApp: true, email, push });

export const TYPE_RULES: Record<NotificationType, TypeRule> = {
  follow: { groupWindowMs: 24 * HOUR, lowPriority: true, defaults: on(false, true) },
  follow_request: { lowPriority: false, defaults: on(true, true) },
  follow_accepted: { lowPriority: true, defaults: on(false, true) },
  like: { groupWindowMs: 24 * HOUR, lowPriority: true, defaults: on(false, false) },
  repost: { groupWindowMs: 24 * HOUR, lowPriority: true, defaults: on(false, false) },
  reply: { lowPriority: false, defaults: on(true, true) },
  quote: { lowPriority: false, defaults: on(false, true) },
  mention: { lowPriority: false, defaults: on(true, true) },
  comment: { groupWindowMs: HOUR, lowPriority: true, defaults: on(false, true) },
  comment_reply: { lowPriority: false, defaults: on(true, true) },
  video_published: { lowPriority: true, defaults: on(false, true) },
  video_ready: { lowPriority: false, defaults: on(true, true) },
  video_failed: { lowPriority: false, defaults: on(true, true) },
  // An account must hear about decisions on its content: in-app and email cannot be turned off.
  moderation: { lowPriority: false, defaults: on(true, false) },
};

/** Channels a user may not turn off (moderation notices are part of due process). */
export const LOCKED: Partial<Record<NotificationType, Channel[]>> = { moderation: ['inApp', 'email'] };

export function defaultPreferences(): Preferences {
  return Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, { ...TYPE_RULES[t].defaults }])) as Preferences;
}

/** Stored overrides on top of the defaults; unknown keys (a type since removed) are ignored. */
export function mergePreferences(stored: Partial<Record<string, Partial<ChannelPrefs>>> | null | undefined): Preferences {
  const prefs = defaultPreferences();
  for (const t of NOTIFICATION_TYPES) {
    const s = stored?.[t];
    if (!s) continue;
    for (const c of CHANNELS) if (typeof s[c] === 'boolean' && !LOCKED[t]?.includes(c)) prefs[t][c] = s[c];
  }
  return prefs;
}
