import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { freePort } from '../helpers/redis-server.js';
import { OVERLAYS, parseObjects, readSnapshot, type K8sObject } from './render.js';

const run = promisify(execFile);

/**
 * The Redis pod as rendered, run for real: the overlay's redis.conf and the container's start script,
 * with only the paths and the port moved into a temp dir. Checks that the settings BullMQ needs take
 * effect, that the password is required, and that the readiness probe command tells the two apart.
 */
describe('k8s Redis config, run by a real redis-server', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: AOF on, noeviction, password required, probe passes only with REDISCLI_AUTH`, async () => {
      const objects = parseObjects(readSnapshot(overlay).replace(/^#.*\n/, ''), overlay);
      const conf: string = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'fiber-redis-config')!.data['redis.conf'];
      const container: K8sObject = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'fiber-redis')!.spec.template.spec.containers[0];
      const probe: string[] = container.readinessProbe.exec.command;

      const dir = mkdtempSync(join(tmpdir(), 'fiber-k8s-redis-'));
      for (const sub of ['data', 'tmp', 'etc']) mkdirSync(join(dir, sub));
      const port = await freePort();
      const move = (s: string) => s.replaceAll('/tmp/redis-auth.conf', join(dir, 'tmp/redis-auth.conf'))
        .replaceAll('/etc/redis/redis.conf', join(dir, 'etc/redis.conf'));
      writeFileSync(join(dir, 'etc/redis.conf'), move(conf).replace('dir /data', `dir ${join(dir, 'data')}`)
        .replace('port 6379', `port ${port}`).replace('bind 0.0.0.0', 'bind 127.0.0.1'));
      const password = 'a1b2c3d4e5f6';
      assert.deepEqual(container.command, ['sh', '-c']);
      const proc = spawn('sh', ['-c', move(container.args[0])], { env: { ...process.env, REDIS_PASSWORD: password }, stdio: 'ignore' });
      try {
        const probeEnv = (auth?: string) => ({ ...process.env, REDISCLI_AUTH: auth ?? '' });
        const probeCmd = probe.map((a) => a.replace('-h 127.0.0.1', `-h 127.0.0.1 -p ${port}`));
        const probeOk = async (auth?: string) => run(probeCmd[0]!, probeCmd.slice(1), { env: probeEnv(auth) }).then(() => true, () => false);
        for (let i = 0; i < 50 && !(await probeOk(password)); i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await probeOk(password), true, 'readiness probe passes with the password');
        assert.equal(await probeOk(), false, 'readiness probe fails without it (redis-cli itself exits 0 on NOAUTH)');
        assert.equal((statSync(join(dir, 'tmp/redis-auth.conf')).mode & 0o777).toString(8), '600', 'auth file readable by redis only');

        const { redis, check } = await connectRedis({ url: `redis://127.0.0.1:${port}`, password, connectTimeoutMs: 5000, reconnect: false });
        try {
          assert.deepEqual(check.warnings, [], 'fiber finds nothing to warn about');
          assert.equal(check.maxmemoryPolicy, 'noeviction');
          assert.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'yes']);
          assert.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
        } finally {
          redis.disconnect();
        }
        await assert.rejects(connectRedis({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 5000, reconnect: false }), /NOAUTH/);
        assert.doesNotMatch(readFileSync(join(dir, 'etc/redis.conf'), 'utf8'), new RegExp(password), 'the password is only in the tmp auth file');
      } finally {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
