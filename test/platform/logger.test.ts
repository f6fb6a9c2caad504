import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactQuery } from '../../src/platform/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('logger', () => {
  it('never writes passwords, tokens or secrets, however deep, and keeps everything else', async () => {
    const { lines, logger } = capture();
    logger.info({ password: 'hunter2', user: { refreshToken: 'rt-secret', name: 'ana' }, deep: { a: { accessToken: 'at-secret' } }, code: 'auth.invalid_token' }, 'hello');
    const err = Object.assign(new Error('boom'), { secret: 's3cr3t' });
    logger.error({ err }, 'failed');
    logger.child({ reqId: 'r1' }).info({ headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: 'json' } }, 'req');
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines);
    for (const s of ['hunter2', 'rt-secret', 'at-secret', 's3cr3t', 'Bearer abc', 'sid=1']) expect(text).not.toContain(s);
    expect(lines[0]).toMatchObject({ msg: 'hello', code: 'auth.invalid_token', user: { name: 'ana', refreshToken: '[redacted]' }, password: '[redacted]' });
    expect((lines[1]!.err as { message: string; type: string }).message).toBe('boom');
    expect(lines[2]).toMatchObject({ reqId: 'r1', headers: { accept: 'json', authorization: '[redacted]' } });
  });

  it('masks secret query parameters in URLs', () => {
    expect(redactQuery('/files/a.png?exp=1&sig=abc')).toBe('/files/a.png?exp=1&sig=%5Bredacted%5D');
    expect(redactQuery('/verify?token=xyz&x=1')).toContain('x=1');
    expect(redactQuery('/verify?token=xyz&x=1')).not.toContain('xyz');
    expect(redactQuery('/plain')).toBe('/plain');
  });
});
