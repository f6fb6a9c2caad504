import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { spamData } from '../ml/support.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'sf-ml-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI on its own embedded database in a temporary DATA_DIR, as an operator runs it. */
function cli(args: string[]) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent', NODE_ENV: 'test' };
  return run(process.execPath, ['bin/social-flow.js', ...args], { cwd: path.resolve(import.meta.dirname, '../..'), env, timeout: 240_000 });
}

describe('social-flow ml train', () => {
  it('trains a spam model from a CSV, prints the cross-validated report, and doctor reports the models', async () => {
    const file = path.join(dir, 'spam.csv');
    const rows = spamData(60).map((r) => `"${r.text.replace(/"/g, '""')}",${r.label}`);
    writeFileSync(file, `text,label\n${rows.join('\n')}\n`);
    const { stdout } = await cli(['ml', 'train', 'spam', '--data', file, '--folds', '3']);
    expect(stdout).toMatch(/^spam: 60 rows from .* 3-fold stratified cross-validation:/m);
    expect(stdout).toMatch(/^ {2}model +accuracy \d+\.\d%/m);
    expect(stdout).toMatch(/^ {2}lexicon /m);
    expect(stdout).toMatch(/^ {2}majority /m);
    expect(stdout).toMatch(/now in use/);

    let out = '';
    try {
      out = (await cli(['doctor'])).stdout;
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    expect(out).toMatch(/^warn models +offensive: no trained model, lexicon fallback in use; spam \d{8}-/m);
  }, 300_000);

  it('refuses a bad file or format with one line and exit 1', async () => {
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, 'text,label\nhello,9\n');
    await expect(cli(['ml', 'train', 'moderation', '--data', file])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ml train offensive failed: row 2: label "9"/) });
    await expect(cli(['ml', 'train', 'spam', '--data', file, '--format', 'xml'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--format must be one of/) });
  }, 300_000);
});
