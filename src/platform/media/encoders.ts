import { runTool } from './run.js';

/** The encoders the pipeline uses, and whether this ffmpeg has them (doctor). */
export const WANTED_ENCODERS = ['libx264', 'aac', 'mjpeg'] as const;

export async function detectEncoders(): Promise<{ found: string[]; missing: string[] }> {
  const { stdout } = await runTool('ffmpeg', ['-hide_banner', '-encoders']);
  const names = new Set(
    stdout
      .split('\n')
      .map((l) => /^\s[VAS.][F.][S.][X.][B.][D.]\s+(\S+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined),
  );
  return { found: WANTED_ENCODERS.filter((e) => names.has(e)), missing: WANTED_ENCODERS.filter((e) => !names.has(e)) };
}
