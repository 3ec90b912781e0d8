// The HTTP side of the exporter: GET /metrics in the format the scraper asks for (Accept), served from
// the last state. A scrape never waits for a sample and a sample never waits for a scrape: the session
// hands records over synchronously, the text is rendered from what is there when the request comes,
// and Node writes it out asynchronously however slowly the scraper reads.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MonitorRecord, SyscallRow } from '../monitor/types.js';
import { CONTENT_TYPES, Exposition, type Format } from './metrics.js';
import { ExportState } from './state.js';
import { ExporterListenError, type ListenAddress } from './address.js';

/** The format a scraper asks for: OpenMetrics when its Accept ranks it at least as high as text/plain. */
export function negotiate(accept: string | undefined): Format {
  if (!accept) return 'classic';
  let open = -1;
  let plain = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim().toLowerCase());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'application/openmetrics-text') open = Math.max(open, q);
    else if (type === 'text/plain') plain = Math.max(plain, q);
  }
  return open > 0 && open >= plain ? 'openmetrics' : 'classic';
}

export class PrometheusExporter {
  readonly state: ExportState;
  private server: Server | undefined;
  /** Rendered text per format, for the records seen so far (scrapes between two samples reuse it). */
  private cache: Partial<Record<Format, { version: number; text: string }>> = {};
  private version = 0;

  private constructor(readonly target: string, private readonly exposition: Exposition, state: ExportState) {
    this.state = state;
  }

  /** `target`: the value of the `target` label on every series. */
  static async create(target: string): Promise<PrometheusExporter> {
    const state = new ExportState();
    return new PrometheusExporter(target, await Exposition.create(state, { target }), state);
  }

  /** One record of the session (the same stream as the JSON Lines). Cheap and synchronous. */
  record(rec: MonitorRecord): void {
    this.state.record(rec);
    this.version++;
  }

  /** Detail mode: the session's cumulative syscall table after a sample (SessionObserver.syscallTable). */
  syscallTable(rows: readonly SyscallRow[]): void {
    this.state.syscallTable(rows);
    this.version++;
  }

  /** The exposition in `format`, as a scrape now would get it. */
  async render(format: Format): Promise<string> {
    const hit = this.cache[format];
    if (hit && hit.version === this.version) return hit.text;
    const version = this.version;
    const text = await this.exposition.text(format);
    this.cache[format] = { version, text };
    return text;
  }

  /** Starts serving; resolves with the address bound (port 0 picks a free one). */
  listen(addr: ListenAddress): Promise<AddressInfo> {
    const server = createServer((req, res) => void this.handle(req, res));
    // A scraper that stalls cannot pile up connections or hold one open for ever.
    server.maxConnections = 64;
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    server.setTimeout(30_000, (socket) => socket.destroy());
    const shown = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new ExporterListenError(shown, err.code ?? err.message)));
      server.listen({ host: addr.host || undefined, port: addr.port }, () => {
        server.removeAllListeners('error');
        // Later socket errors concern one connection; they never end monitoring.
        server.on('error', () => {});
        // The server alone must not keep the process alive once monitoring is over.
        server.unref();
        this.server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`denet-pure exporter for ${this.target}: metrics at /metrics\n`);
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
      return;
    }
    const format = negotiate(req.headers.accept);
    try {
      const body = await this.render(format);
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES[format], 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`cannot render the metrics: ${(err as Error).message}\n`);
    }
  }

  /** Stops accepting connections and ends the open ones. Idempotent. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
