import type { Candidate } from './candidates.js';

/** How much each source counts in the blend (docs/discovery.md explains how to tune them). */
export const BLEND = { collaborative: 1.0, content: 0.6, followed: 0.5, trending: 0.4, freshness: 0.3 };
/** Hours after which a post's freshness bonus has halved. */
export const FRESHNESS_HALF_LIFE_HOURS = 36;
/** At most this many posts of one creator within any run of WINDOW consecutive items. */
export const MAX_PER_CREATOR = 2;
export const CREATOR_WINDOW = 10;

export interface Scored {
  id: string;
  creatorId: string;
  score: number;
}

export function blend(c: Candidate, createdAt: Date, now = Date.now()): number {
  const ageHours = Math.max(0, (now - createdAt.getTime()) / 3_600_000);
  const freshness = Math.pow(0.5, ageHours / FRESHNESS_HALF_LIFE_HOURS);
  return BLEND.collaborative * c.collaborative + BLEND.content * c.content + BLEND.followed * c.followed + BLEND.trending * c.trending + BLEND.freshness * freshness;
}

/**
 * Diversity re-rank: walk down the scores, but skip a creator who already has MAX_PER_CREATOR
 * posts among the last CREATOR_WINDOW placed; skipped posts come back as soon as the window
 * allows (or at the end, when only that creator is left).
 */
export function diversify(items: Scored[]): Scored[] {
  const pending = [...items].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1));
  const out: Scored[] = [];
  while (pending.length) {
    const recent = out.slice(-CREATOR_WINDOW);
    const count = (creator: string) => recent.filter((x) => x.creatorId === creator).length;
    let at = pending.findIndex((x) => count(x.creatorId) < MAX_PER_CREATOR);
    if (at < 0) at = 0;
    out.push(pending.splice(at, 1)[0]!);
  }
  return out;
}
