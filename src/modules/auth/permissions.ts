import type { Role } from '../users/tables.js';

/**
 * What each role may do. Routes name a permission in `config.permission`; the guard is the only
 * place that compares roles, so a new role or a changed grant is one edit here.
 */
export const GRANTS = {
  /** Any signed-in account: own profile, sessions, 2FA. */
  'account.self': ['user', 'creator', 'moderator', 'admin'],
  /** List and search accounts with private fields (email, state). */
  'users.read_private': ['moderator', 'admin'],
  /** Suspend and restore accounts. */
  'users.suspend': ['moderator', 'admin'],
  /** Change anyone's role. */
  'users.set_role': ['admin'],
  /** Read the audit log. */
  'audit.read': ['admin'],
  /** See the moderation queue, cases, scores, decisions and models. */
  'moderation.review': ['moderator', 'admin'],
  /** Claim and assign cases; remove, restore, warn, age-restrict, suspend. */
  'moderation.act': ['moderator', 'admin'],
  /** Rotate token signing keys. */
  'keys.rotate': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof GRANTS;

export function can(role: Role, permission: Permission): boolean {
  return (GRANTS[permission] as readonly Role[]).includes(role);
}

/** Rank for "may act on": a moderator may suspend users and creators, not other moderators or admins. */
export const ROLE_RANK: Record<Role, number> = { user: 0, creator: 1, moderator: 2, admin: 3 };
