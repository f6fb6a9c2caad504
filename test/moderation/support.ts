import { expect } from 'vitest';
import type { Call, TestUser } from '../support/auth.js';

/** Poll until `check` returns a value (jobs run on the in-process worker); fails after `tries`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export async function act(call: Call, mod: TestUser, body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/moderation/actions', { token: mod.accessToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; action: string; automatic: boolean; caseId: string | null };
}
