import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

/** The error loadConfig throws for `env`, or a failure if it does not throw a ConfigError. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      http: { port: 3000, host: '0.0.0.0', trustProxy: false },
      database: { url: undefined },
      dataDir: path.resolve('./data'),
      defaultCountry: 'UA',
      ami: undefined,
      ari: undefined,
      sessionSecret: undefined,
      recordingsDir: path.resolve('./data/recordings'),
      recordingsRetentionDays: 0,
      recordingsDeleteFromPbx: false,
      redisUrl: undefined,
      logLevel: 'info',
      staleCallSeconds: 4 * 3600,
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ', LOG_LEVEL: '' })).toMatchObject({
      http: { port: 3000 },
      database: { url: undefined },
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      TRUST_PROXY: 'true',
      DATABASE_URL: 'postgres://u:p@db:5432/calltrack',
      DATA_DIR: '/var/lib/calltrack',
      DEFAULT_COUNTRY: 'pl',
      AMI_HOST: 'pbx',
      AMI_PORT: '5039',
      AMI_USERNAME: 'calltrack',
      AMI_SECRET: 's3cret',
      ARI_URL: 'http://pbx:8088',
      ARI_USERNAME: 'ari',
      ARI_PASSWORD: 'pw',
      SESSION_SECRET: 'x'.repeat(32),
      REDIS_URL: 'redis://cache:6379',
      LOG_LEVEL: 'debug',
      STALE_CALL_SECONDS: '600',
      RECORDINGS_SOURCE_DIR: '/srv/asterisk-recordings',
      RECORDINGS_RETENTION_DAYS: '90',
      RECORDINGS_DELETE_FROM_PBX: 'true',
    });
    expect(c).toEqual({
      http: { port: 8080, host: '127.0.0.1', trustProxy: true },
      database: { url: 'postgres://u:p@db:5432/calltrack' },
      dataDir: '/var/lib/calltrack',
      defaultCountry: 'PL',
      ami: { host: 'pbx', port: 5039, username: 'calltrack', secret: 's3cret' },
      ari: { url: 'http://pbx:8088', username: 'ari', password: 'pw', app: 'calltrack' },
      sessionSecret: 'x'.repeat(32),
      recordingsDir: '/var/lib/calltrack/recordings',
      recordingsSourceDir: '/srv/asterisk-recordings',
      recordingsRetentionDays: 90,
      recordingsDeleteFromPbx: true,
      redisUrl: 'redis://cache:6379',
      logLevel: 'debug',
      staleCallSeconds: 600,
    });
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '80.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DEFAULT_COUNTRY', { DEFAULT_COUNTRY: 'XX' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['SESSION_SECRET', { SESSION_SECRET: 'too-short' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['AMI_PORT', { AMI_PORT: '-1' }],
    ['ARI_URL', { ARI_URL: 'ws://pbx:8088' }],
    ['REDIS_URL', { REDIS_URL: 'http://cache' }],
    ['STALE_CALL_SECONDS', { STALE_CALL_SECONDS: '5' }],
    ['RECORDINGS_RETENTION_DAYS', { RECORDINGS_RETENTION_DAYS: '-1' }],
    ['RECORDINGS_RETENTION_DAYS', { RECORDINGS_RETENTION_DAYS: 'forever' }],
    ['RECORDINGS_DELETE_FROM_PBX', { RECORDINGS_DELETE_FROM_PBX: 'yes' }],
    ['AMI_SECRET', { AMI_HOST: 'pbx', AMI_USERNAME: 'calltrack' }],
    ['AMI_HOST', { AMI_USERNAME: 'calltrack', AMI_SECRET: 's' }],
    ['ARI_PASSWORD', { ARI_URL: 'http://pbx:8088', ARI_USERNAME: 'ari' }],
    ['ORIGINATE_ALLOW', { ORIGINATE_ALLOW: '380*' }],
    ['ORIGINATE_ALLOW', { ORIGINATE_ALLOW: '+380*,,+48*' }],
    ['ORIGINATE_ALLOW', { ORIGINATE_ALLOW: '+38*0' }],
  ])('a bad value is a ConfigError naming %s', (variable, env) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it('reads ORIGINATE_ALLOW as a list of E.164 prefixes and exact numbers', () => {
    expect(loadConfig({}).originateAllow).toBeUndefined();
    expect(loadConfig({ ORIGINATE_ALLOW: ' +380* , +48*,+442071234567' }).originateAllow).toEqual(['+380*', '+48*', '+442071234567']);
    expect(Object.isFrozen(loadConfig({ ORIGINATE_ALLOW: '+*' }).originateAllow)).toBe(true);
  });

  it('does not echo secrets in the error', () => {
    const err = configError({ SESSION_SECRET: 'hunter2-short' });
    expect(err.message).not.toContain('hunter2');
  });

  it('returns a frozen object, nested parts included', () => {
    const c = loadConfig({ AMI_HOST: 'pbx', AMI_USERNAME: 'u', AMI_SECRET: 's' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(Object.isFrozen(c.database)).toBe(true);
    expect(Object.isFrozen(c.ami)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});
