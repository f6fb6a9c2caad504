import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { generateVapidKeys } from '../../src/platform/push/index.js';

const load = (env: Record<string, string>) => loadConfig({ SECRET_KEY: 'x'.repeat(32), DATA_DIR: '/tmp/sf-config-test', ...env }, { persistSecret: false });
const error = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('notification settings', () => {
  it('defaults: no web push, daily digest, pages of 1000 followers', () => {
    expect(load({}).notifications).toEqual({ vapid: undefined, digestMinutes: 1440, fanoutBatchSize: 1000 });
  });

  it('takes a VAPID key pair, with a default contact', () => {
    const keys = generateVapidKeys();
    expect(load({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey }).notifications.vapid).toEqual({ ...keys, subject: 'mailto:admin@localhost' });
    expect(load({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'https://video.example.com' }).notifications.vapid?.subject).toBe('https://video.example.com');
  });

  it('refuses half a key pair, malformed keys and a bad subject, in one line naming the variable', () => {
    const keys = generateVapidKeys();
    expect(error({ VAPID_PUBLIC_KEY: keys.publicKey })).toMatch(/^VAPID_PRIVATE_KEY: is required/);
    expect(error({ VAPID_PRIVATE_KEY: keys.privateKey })).toMatch(/^VAPID_PUBLIC_KEY: is required/);
    expect(error({ VAPID_PUBLIC_KEY: 'short', VAPID_PRIVATE_KEY: keys.privateKey })).toMatch(/^VAPID_PUBLIC_KEY: is not a base64url P-256 public key/);
    expect(error({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.publicKey })).toMatch(/^VAPID_PRIVATE_KEY: /);
    expect(error({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'http://insecure.example.com' })).toMatch(/^VAPID_SUBJECT: /);
    for (const m of [error({ NOTIFICATION_DIGEST_MINUTES: 'soon' }), error({ NOTIFICATION_FANOUT_BATCH: '5' })]) expect(m).not.toContain('\n');
  });
});
