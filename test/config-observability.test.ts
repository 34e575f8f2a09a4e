import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

const SLACK_HTTP = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' };
const SLACK_SOCKET = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' };

/** Returns the ConfigError message loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected loadConfig to throw for ${JSON.stringify(env)}`);
}

describe('HTTP_PORT, HTTP_HOST and REPLICA_ID', () => {
  it('leave the health and metrics server off by default', () => {
    assert.equal(loadConfig({}).http, undefined);
  });

  it('read a port, and a host when given (default: all interfaces)', () => {
    assert.deepEqual(loadConfig({ HTTP_PORT: '9090' }).http, { port: 9090 });
    assert.deepEqual(loadConfig({ HTTP_PORT: ' 9090 ', HTTP_HOST: '127.0.0.1' }).http, { port: 9090, host: '127.0.0.1' });
  });

  it('refuse a port out of range, a bad host, or a host without a port, naming the variable', () => {
    assert.match(configError({ HTTP_PORT: '0' }), /HTTP_PORT must be a port number \(1-65535\) \(got "0"\)/);
    assert.match(configError({ HTTP_PORT: '70000' }), /HTTP_PORT must be a port number/);
    assert.match(configError({ HTTP_PORT: 'metrics' }), /HTTP_PORT must be a port number/);
    assert.match(configError({ HTTP_PORT: '9090', HTTP_HOST: 'not a host!' }), /HTTP_HOST must be an IP address or host name/);
    assert.match(configError({ HTTP_HOST: '127.0.0.1' }), /HTTP_HOST is set but HTTP_PORT is not/);
  });

  it('refuse HTTP_PORT equal to SLACK_PORT in Slack HTTP mode, and allow it in Socket Mode (no Slack port then)', () => {
    assert.match(configError({ ...SLACK_HTTP, HTTP_PORT: '3000' }), /HTTP_PORT and SLACK_PORT are both 3000: Slack's HTTP endpoint keeps its own port/);
    assert.match(configError({ ...SLACK_HTTP, SLACK_PORT: '8080', HTTP_PORT: '8080' }), /both 8080/);
    assert.deepEqual(loadConfig({ ...SLACK_HTTP, HTTP_PORT: '9090' }).http, { port: 9090 });
    assert.deepEqual(loadConfig({ ...SLACK_SOCKET, HTTP_PORT: '3000' }).http, { port: 3000 });
  });

  it('name the replica from REPLICA_ID, else the host name and process id', () => {
    assert.equal(loadConfig({ REPLICA_ID: 'bot-7f9c' }).replicaId, 'bot-7f9c');
    const fallback = loadConfig({}).replicaId;
    assert.ok(fallback.endsWith(`-${process.pid}`), fallback);
    assert.ok(fallback.startsWith(hostname().slice(0, 10).replace(/[^A-Za-z0-9._:-]/g, '-')), fallback);
    assert.match(fallback, /^[A-Za-z0-9._:-]{1,64}$/);
    assert.match(configError({ REPLICA_ID: 'bot 1"' }), /REPLICA_ID must be 1-64 letters, digits/);
    assert.match(configError({ REPLICA_ID: 'x'.repeat(65) }), /REPLICA_ID must be 1-64/);
  });

  it('put the replica on every log line, beside pino\'s pid and hostname', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) }, { replica: 'bot-7f9c' });
    logger.info({ feed: 'x' }, 'hello');
    logger.child({ part: 'poller' }).warn('child line');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(parsed.length, 2);
    for (const line of parsed) {
      assert.equal(line.replica, 'bot-7f9c');
      assert.equal(line.pid, process.pid);
      assert.equal(line.hostname, hostname());
    }
  });
});
