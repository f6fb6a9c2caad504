/**
 * Wait for background work (a job, an event listener, a child process) by polling `check` until it
 * returns something truthy, which is returned. A guard against hangs, not a speed check: the
 * default wait is long because loaded CI machines have run listener jobs over 20 s late.
 * `explain`: more to say when the wait fails (e.g. where the jobs involved were).
 */
export async function pollUntil<T>(
  check: () => T | Promise<T>,
  what: string,
  opts: { timeoutMs?: number; everyMs?: number; explain?: () => Promise<string> } = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 120_000, everyMs = 100 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const more = opts.explain ? `; ${await opts.explain()}` : '';
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${more}`);
}
