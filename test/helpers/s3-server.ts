import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running S3-compatible server (s3rver) for integration tests. */
export interface S3TestServer {
  /** `http://127.0.0.1:PORT`: pass as FIBER_S3_ENDPOINT / S3Config.endpoint. */
  readonly endpoint: string;
  /** A bucket that already exists. */
  readonly bucket: string;
  /** s3rver accepts only these credentials. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Env vars for a child process (`fiber data ...`) that should talk to this server. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Start s3rver in a child Node with `--openssl-legacy-provider` (its ListObjectsV2 continuation
 * tokens use DES, which OpenSSL 3 disables), on a free port, with objects in a temp folder that
 * close() removes. The child exits when our stdin pipe closes, so a crashed test leaves no server.
 */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'fiber-test';
  const directory = await mkdtemp(join(tmpdir(), 'fiber-s3rver-'));
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rverPath)});
    const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: ${JSON.stringify(directory)},
      configureBuckets: [{ name: ${JSON.stringify(bucket)} }] });
    server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'));
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    bucket,
    credentials,
    env: { FIBER_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
