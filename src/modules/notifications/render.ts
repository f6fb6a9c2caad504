import type { NotificationType, SubjectType } from './types.js';

export interface RenderInput {
  type: NotificationType;
  /** Display names of the latest actors, newest first (already filtered for the recipient). */
  actorNames: string[];
  actorCount: number;
  subjectType: SubjectType | null;
  data: Record<string, string>;
}

const thing = (t: SubjectType | null) => (t === 'comment' ? 'comment' : t === 'video' ? 'video' : 'post');

/** "Ana", "Ana and Ben", "Ana and 12 others". */
export function actorPhrase(names: string[], count: number): string {
  const first = names[0] ?? 'Someone';
  if (count <= 1) return first;
  if (count === 2 && names[1]) return `${first} and ${names[1]}`;
  const others = count - 1;
  return `${first} and ${others} ${others === 1 ? 'other' : 'others'}`;
}

const MODERATION: Record<string, string> = {
  hold: 'is held for review',
  remove: 'was removed',
  restore: 'was restored',
  warn: 'received a warning',
  age_restrict: 'was age-restricted',
  suspend: 'led to a suspension of your account',
};

/** The one-line text shown in the list, the push notification and the email subject. */
export function renderText(n: RenderInput): string {
  const who = actorPhrase(n.actorNames, n.actorCount);
  switch (n.type) {
    case 'follow':
      return `${who} followed you`;
    case 'follow_request':
      return `${who} asked to follow you`;
    case 'follow_accepted':
      return `${who} accepted your follow request`;
    case 'like':
      return `${who} liked your ${thing(n.subjectType)}`;
    case 'repost':
      return `${who} reposted your post`;
    case 'reply':
      return `${who} replied to your post`;
    case 'quote':
      return `${who} quoted your post`;
    case 'mention':
      return `${who} mentioned you`;
    case 'comment':
      return `${who} commented on your ${n.subjectType === 'video' ? 'video' : 'post'}`;
    case 'comment_reply':
      return `${who} replied to your comment`;
    case 'video_published':
      return `${who} published a new video`;
    case 'video_ready':
      return 'Your video is ready to watch';
    case 'video_failed':
      return `Your video could not be processed${n.data.reason ? `: ${n.data.reason}` : ''}`;
    case 'moderation': {
      const what = n.subjectType === 'user' ? 'Your account' : `Your ${n.data.targetType === 'chat_message' ? 'chat message' : (n.data.targetType ?? 'content')}`;
      return `${what} ${MODERATION[n.data.action ?? ''] ?? 'was reviewed by a moderator'}${n.data.reason ? ` (${n.data.reason})` : ''}`;
    }
  }
}

/** Where a client should take the user (relative to APP_URL). */
export function renderPath(n: { type: NotificationType; subjectType: SubjectType | null; subjectId: string | null; data: Record<string, string>; actorIds: string[] }): string {
  if (n.type === 'follow' || n.type === 'follow_accepted') return n.actorIds[0] ? `/users/${n.actorIds[0]}` : '/notifications';
  if (n.type === 'follow_request') return '/follow-requests';
  if (n.subjectType === 'comment' && n.data.postId) return `/posts/${n.data.postId}?comment=${n.subjectId}`;
  if (n.subjectType && n.subjectId && n.subjectType !== 'user') return `/${n.subjectType}s/${n.subjectId}`;
  return '/notifications';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface EmailItem {
  text: string;
  url: string;
}

/** Both parts of a notification or digest email; the unsubscribe link is in the body too, not only the header. */
export function renderEmail(opts: { heading: string; items: EmailItem[]; unsubscribeUrl: string; unsubscribeWhat: string; settingsUrl: string }): { text: string; html: string } {
  const text = [
    opts.heading,
    '',
    ...opts.items.flatMap((i) => [`- ${i.text}`, `  ${i.url}`]),
    '',
    `Stop these emails (${opts.unsubscribeWhat}): ${opts.unsubscribeUrl}`,
    `All notification settings: ${opts.settingsUrl}`,
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">
<h2 style="font-size:18px">${esc(opts.heading)}</h2>
<ul>${opts.items.map((i) => `<li><a href="${esc(i.url)}">${esc(i.text)}</a></li>`).join('')}</ul>
<p style="font-size:12px;color:#666"><a href="${esc(opts.unsubscribeUrl)}">Stop these emails</a> (${esc(opts.unsubscribeWhat)}) &middot; <a href="${esc(opts.settingsUrl)}">Notification settings</a></p>
</body></html>`;
  return { text, html };
}
