import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { DashboardView } from './dashboard-view.js';
import { renderDashboardPage } from './dashboard-page.js';
import { renderDashboardBody } from './render-dashboard.js';

export interface DashboardServerOptions {
  /** @defaultValue 127.0.0.1: the page shows run names and paths, so it is not offered to the network unless asked */
  readonly host?: string;
  /** 0: any free port. */
  readonly port: number;
  /** How often the page refreshes. @defaultValue 2000 */
  readonly refreshMs?: number;
  /** One snapshot; `run` is the page's ?run= (the newest run when absent). */
  readonly view: (run: string | undefined) => Promise<DashboardView>;
  readonly log?: Logger;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * `fiber dashboard`'s HTTP server (node:http, no framework): `/` the page, `/fragment` the
 * rendered body the page polls, `/api/view` the same snapshot as JSON (status schema plus the
 * selected run's charts). GET only; nothing it serves carries a secret (status redacts them).
 */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const page = renderDashboardPage(o.refreshMs ?? 2000);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'GET only\n');
    if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', page);
    if (url.pathname !== '/fragment' && url.pathname !== '/api/view') return send(404, 'text/plain; charset=utf-8', 'not found\n');
    const run = url.searchParams.get('run') ?? undefined;
    o.view(run).then(
      (view) => (url.pathname === '/fragment' ? send(200, 'text/html; charset=utf-8', renderDashboardBody(view)) : send(200, 'application/json', JSON.stringify(view))),
      (err: Error) => {
        o.log?.warn({ err: err.message }, 'dashboard: reading the status failed');
        send(503, 'text/plain; charset=utf-8', 'cannot read the status from Redis right now\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}/`,
    port: addr.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
