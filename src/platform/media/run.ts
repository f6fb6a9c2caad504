import { spawn } from 'node:child_process';

export class MediaToolError extends Error {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${tool} exited with ${exitCode ?? 'a signal'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'MediaToolError';
  }
}

export interface RunOptions {
  /** Kill the tool when aborted (worker shutting down, job expired). */
  signal?: AbortSignal;
}

/**
 * Runs ffmpeg or ffprobe from PATH without a shell, keeping only the end of stderr (ffmpeg can
 * print megabytes of progress) and all of stdout (ffprobe's JSON).
 */
export function runTool(tool: 'ffmpeg' | 'ffprobe', args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new Error(`${tool} not started: aborted`));
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-16_384);
    });
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.once('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: err });
      else reject(new MediaToolError(tool, code, err));
    });
  });
}
