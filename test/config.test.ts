import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const base = { SECRET_KEY: 'k'.repeat(32), DATA_DIR: '/tmp/sf-config-test' };
const load = (env: Record<string, string>) => loadConfig({ ...base, ...env }, { persistSecret: false });

describe('config', () => {
  it('has working embedded defaults', () => {
    const c = load({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', publicUrl: 'http://127.0.0.1:3000', databaseUrl: undefined, redisUrl: undefined, s3: undefined, smtpUrl: undefined });
    expect(c.dataDir).toBe('/tmp/sf-config-test');
    expect(c.readinessTimeoutMs).toBe(3000);
    expect(load({ READINESS_TIMEOUT_MS: '15000' }).readinessTimeoutMs).toBe(15_000);
    expect(c.redisKeyPrefix).toBe('sf:');
    expect(load({ REDIS_KEY_PREFIX: 'sf-staging:' }).redisKeyPrefix).toBe('sf-staging:');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', /not a whole number/],
    [{ PORT: '70000' }, 'PORT', /from 0 to 65535/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a URL/],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL', /redis:/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of fatal, error/],
    [{ S3_BUCKET: 'b' }, 'S3_ACCESS_KEY_ID', /required when S3_BUCKET/],
    [{ S3_ENDPOINT: 'http://127.0.0.1:9000' }, 'S3_BUCKET', /required/],
    [{ SMTP_URL: 'ftp://x' }, 'SMTP_URL', /smtp:/],
    [{ SECRET_KEY: 'short' }, 'SECRET_KEY', /at least 32/],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS', /not an origin/],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', /true or false/],
    [{ READINESS_TIMEOUT_MS: '10' }, 'READINESS_TIMEOUT_MS', /from 100 to 120000/],
    [{ REDIS_KEY_PREFIX: 'a b' }, 'REDIS_KEY_PREFIX', /letters, digits/],
    [{ REDIS_KEY_PREFIX: 'x'.repeat(65) }, 'REDIS_KEY_PREFIX', /1-64/],
  ])('rejects %o naming the variable', (env, variable, message) => {
    let err: unknown;
    try {
      load(env as Record<string, string>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as ConfigError).message).toMatch(message);
    expect((err as ConfigError).message.split('\n')).toHaveLength(1);
  });

  it('never echoes a password from a URL', () => {
    for (const env of [{ DATABASE_URL: 'mysql://u:topsecret@h/db' }, { REDIS_URL: 'redis//u:topsecret@h' }] as Record<string, string>[]) {
      let message = '';
      try {
        load(env);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/URL|protocol/);
      expect(message).not.toContain('topsecret');
    }
  });

  it('reads production settings', () => {
    const c = load({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL: 'redis://127.0.0.1:6379',
      S3_BUCKET: 'media',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 'b',
      PUBLIC_URL: 'https://video.example.com/',
      CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
    });
    expect(c.s3).toMatchObject({ bucket: 'media', forcePathStyle: true, region: 'us-east-1' });
    expect(c.publicUrl).toBe('https://video.example.com');
    expect(c.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
  });
});
