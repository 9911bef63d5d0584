import { createServer, request, type IncomingMessage, type Server } from 'node:http';

/**
 * What the proxy does to one request instead of forwarding it:
 *  - slowdown / internal: answer 503 SlowDown / 500 InternalError, as S3 does under load;
 *  - reset: forward, send the response headers and 100 bytes of body, then drop the connection;
 *  - hang: never answer (the client's request timeout must fire);
 *  - cutUpload: read `afterBytes` of the request body (an upload), then drop the connection
 *    before anything reaches the server, like a network failure half-way through a PUT.
 */
export type S3Fault = 'slowdown' | 'internal' | 'reset' | 'hang' | { readonly cutUpload: number };

export interface FaultRule {
  readonly method: string;
  /** Only requests whose path contains this (e.g. 'manifest.json'); any path when absent. */
  readonly path?: string;
  readonly fault: S3Fault;
  /** How many matching requests it hits. @defaultValue 1 */
  times?: number;
}

export interface S3FaultProxy {
  /** Pass as the S3 endpoint instead of the server's. */
  readonly endpoint: string;
  /** The server behind it: for reads that must not be faulted (a post-mortem, an audit). */
  readonly target: string;
  /** Every request seen, in order: `PUT /bucket/key`. */
  readonly requests: string[];
  /** Add rules; the first matching rule with hits left applies to a request. */
  inject(...rules: FaultRule[]): void;
  /** Forget all rules and the request log. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * A fault-injecting HTTP proxy in front of the real S3 server (test/helpers/s3-server.ts):
 * everything not hit by a rule is forwarded unchanged, so the real AWS SDK parses real responses
 * and real errors, and retries go through fiber's own policy.
 */
export async function startS3FaultProxy(targetEndpoint: string): Promise<S3FaultProxy> {
  const target = new URL(targetEndpoint);
  let rules: FaultRule[] = [];
  const requests: string[] = [];
  const take = (req: IncomingMessage): S3Fault | undefined => {
    const rule = rules.find((r) => r.method === req.method && (r.path === undefined || (req.url ?? '').includes(r.path)) && (r.times ?? 1) > 0);
    if (!rule) return undefined;
    rule.times = (rule.times ?? 1) - 1;
    return rule.fault;
  };
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const fault = take(req);
    if (fault === 'hang') return;
    if (fault === 'slowdown' || fault === 'internal') {
      req.resume();
      const [status, code] = fault === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
      return;
    }
    if (typeof fault === 'object') {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= fault.cutUpload) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy()); // a body shorter than the cut: drop it anyway
      return;
    }
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (fault === 'reset') {
        upRes.once('data', (chunk: Buffer) => {
          res.write(chunk.subarray(0, 100));
          setTimeout(() => res.socket?.destroy(), 5);
        });
        return;
      }
      upRes.pipe(res);
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    target: targetEndpoint,
    requests,
    inject: (...more) => { rules.push(...more.map((r) => ({ ...r }))); },
    reset: () => { rules = []; requests.length = 0; },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
