import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT_PATHS, redactText, redactUrl } from '../../src/log/redact.js';

describe('redaction', () => {
  it('removes secret fields from log lines at any usual depth', () => {
    const lines: string[] = [];
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }));
    log.info({ password: 'p1', s3: { secretAccessKey: 'p2', accessKeyId: 'p3' }, env: { conn: { token: 'p4' } }, psToken: 'p5' }, 'x');
    const text = lines.join('');
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5']) assert.ok(!text.includes(`"${secret}"`), `${secret} leaked: ${text}`);
    assert.match(text, /\[redacted\]/);
  });

  it('masks passwords and secret query parameters in URLs', () => {
    assert.equal(redactUrl('redis://user:hunter2@host:6379/0'), 'redis://user:***@host:6379/0');
    assert.equal(redactUrl('redis://:hunter2@host:6379'), 'redis://:***@host:6379');
    assert.equal(redactUrl('https://s3.local/b?X-Amz-Security-Token=abc&x=1'), 'https://s3.local/b?X-Amz-Security-Token=***&x=1');
    assert.equal(redactUrl('not a url'), 'not a url');
  });

  it('masks credentials inside free text', () => {
    assert.equal(redactText('connect to redis://:pw@10.0.0.1:6379 failed'), 'connect to redis://:***@10.0.0.1:6379 failed');
  });
});
