import { expect } from 'vitest';
import type { Call, TestUser } from '../support/auth.js';
import { pollUntil } from '../support/poll.js';

/** Poll until `check` returns a value (jobs run on the in-process worker). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
  return (await pollUntil(check, what)) as T;
}

export async function act(call: Call, mod: TestUser, body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/moderation/actions', { token: mod.accessToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; action: string; automatic: boolean; caseId: string | null };
}
