/**
 * Load generation for the HTTP benches: autocannon, either in a child process (the default, so the
 * load generator never runs on the servers' event loop) or in this process (`inline`, to see how
 * much a shared event loop skews the figures).
 *
 * The child is this same file, forked with the parent's execArgv (tsx's loader), and talks over IPC:
 * the parent sends one LoadRequest at a time and gets one LoadReply back.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export type LoadgenMode = 'child' | 'inline';

export interface LoadRequest {
  url: string;
  connections: number;
  durationS: number;
  title?: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /**
   * Access tokens to rotate through: each request carries `Authorization: Bearer <next token>`
   * (many distinct users instead of one). Overrides an authorization entry of `headers`.
   */
  tokens?: string[];
  /** Paths (with query strings) to rotate through, one per request in this order, instead of `url`'s own path. */
  paths?: string[];
}

/** What one autocannon run measured. Latencies in milliseconds. */
export interface LoadResult {
  title: string | undefined;
  url: string;
  durationS: number;
  /** Mean of the per-second request counts (autocannon's "Req/Sec" average). */
  rps: number;
  /** Completed requests divided by the run's duration. */
  rpsTotal: number;
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  latencyMean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Set by benches that measure it: the serving process's CPU time per request, in µs. */
  cpuUsPerReq?: number;
}

type Reply = { ok: true; result: LoadResult } | { ok: false; error: string };

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A setupRequest that gives each request the next token's Authorization header and/or the next path. */
function rotate(tokens: string[] | undefined, paths: string[] | undefined): (r: autocannon.Request) => autocannon.Request {
  let i = 0;
  let j = 0;
  return (r) => {
    let out = r;
    if (tokens?.length) out = { ...out, headers: { ...out.headers, authorization: `Bearer ${tokens[i++ % tokens.length]!}` } };
    if (paths?.length) out = { ...out, path: paths[j++ % paths.length]! };
    return out;
  };
}

export async function runAutocannon(req: LoadRequest): Promise<LoadResult> {
  const r = await autocannon({
    url: req.url,
    connections: req.connections,
    duration: req.durationS,
    title: req.title,
    // autocannon refuses keys that are present but undefined.
    ...(req.method ? { method: req.method } : {}),
    ...(req.headers ? { headers: req.headers } : {}),
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(req.tokens?.length || req.paths?.length ? { requests: [{ setupRequest: rotate(req.tokens, req.paths) }] } : {}),
  });
  const total = r['2xx'] + r.non2xx;
  return {
    title: r.title,
    url: req.url,
    durationS: r.duration,
    rps: round(r.requests.average, 1),
    rpsTotal: round(total / r.duration, 1),
    requests: total,
    p50: round(r.latency.p50),
    p90: round(r.latency.p90),
    p99: round(r.latency.p99),
    latencyMean: round(r.latency.average),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

export interface Loadgen {
  mode: LoadgenMode;
  run(req: LoadRequest): Promise<LoadResult>;
  close(): Promise<void>;
}

export async function startLoadgen(mode: LoadgenMode): Promise<Loadgen> {
  if (mode === 'inline') return { mode, run: runAutocannon, close: async () => {} };

  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--loadgen-child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`load generator said ${String(m)}`))));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load generator exited early (code ${code})`)));
  });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    mode,
    run(req) {
      const next = queue.then(
        () =>
          new Promise<LoadResult>((resolve, reject) => {
            if (exited) return reject(new Error('load generator has exited'));
            const onExit = (code: number | null) => reject(new Error(`load generator exited mid-run (code ${code})`));
            child.once('exit', onExit);
            child.once('message', (m: Reply) => {
              child.off('exit', onExit);
              if (m.ok) resolve(m.result);
              else reject(new Error(`load generator: ${m.error}`));
            });
            child.send(req);
          }),
      );
      queue = next.catch(() => {});
      return next;
    },
    async close() {
      if (!exited) {
        child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

// Child side: serve LoadRequests until the parent disconnects.
if (process.argv.includes('--loadgen-child') && process.send) {
  process.on('message', (req: LoadRequest) => {
    runAutocannon(req).then(
      (result) => process.send?.({ ok: true, result } satisfies Reply),
      (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}
