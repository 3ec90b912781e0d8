// Real headless Chromium for tests, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes, commands on fd 3, replies on fd 4).
// No library and no browser download: Debian's chromium package, as CI installs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string | null {
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Why browser tests cannot run here, or null. */
export function browserUnavailableReason(): string | null {
  return chromiumPath() ? null : 'no Chromium (apt-get install chromium; .ci/run installs it)';
}

type Json = Record<string, any>;

export interface PageEvents {
  console: { type: string; text: string }[];
  exceptions: string[];
  requests: string[];
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners: ((msg: Json) => void)[] = [];
  private buffer = '';

  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end)) as Json;
        this.buffer = this.buffer.slice(end + 1);
        if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id)!;
          this.pending.delete(msg.id);
          if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
          else p.resolve(msg.result ?? {});
        } else {
          for (const l of this.listeners) l(msg);
        }
      }
    });
    proc.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}`));
      this.pending.clear();
    });
  }

  static async launch(): Promise<Browser> {
    const exe = chromiumPath();
    if (!exe) throw new Error('chromium not found');
    const profile = mkdtempSync(join(tmpdir(), 'denet-pure-chromium-'));
    const proc = spawn(exe, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--mute-audio',
      '--hide-scrollbars', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    proc.stderr!.resume();
    const b = new Browser(proc, profile);
    await b.send('Browser.getVersion');
    return b;
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.nextId++;
    const msg = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.proc.stdio[3] as Writable).write(msg + '\0');
    });
  }

  on(listener: (msg: Json) => void): void {
    this.listeners.push(listener);
  }

  /** A new page (tab) with console, exceptions and network requests recorded. */
  async newPage(width = 1280, height = 900): Promise<Page> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId as string);
    this.on((msg) => { if (msg.sessionId === sessionId) page.handle(msg); });
    await page.send('Runtime.enable');
    await page.send('Page.enable');
    await page.send('Network.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  async close(): Promise<void> {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { /* already gone */ }
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    await new Promise((r) => (this.proc.exitCode !== null || this.proc.signalCode !== null ? r(null) : this.proc.once('exit', r)));
    // Chromium's helper processes may still be writing into the profile for a moment after the
    // browser process is gone: retry, and never fail a test over a temporary directory.
    try {
      rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch { /* left in tmp */ }
  }
}

export class Page {
  readonly events: PageEvents = { console: [], exceptions: [], requests: [] };
  private loaded: (() => void) | undefined;

  constructor(private readonly browser: Browser, private readonly sessionId: string) {}

  send(method: string, params: Json = {}): Promise<Json> {
    return this.browser.send(method, params, this.sessionId);
  }

  handle(msg: Json): void {
    const p = msg.params ?? {};
    if (msg.method === 'Runtime.consoleAPICalled') {
      this.events.console.push({ type: p.type, text: (p.args ?? []).map((a: Json) => a.value ?? a.description ?? '').join(' ') });
    } else if (msg.method === 'Runtime.exceptionThrown') {
      this.events.exceptions.push(p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text ?? 'exception');
    } else if (msg.method === 'Network.requestWillBeSent') {
      this.events.requests.push(p.request?.url ?? '?');
    } else if (msg.method === 'Page.loadEventFired') {
      this.loaded?.();
    }
  }

  async goto(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url} did not load within ${timeoutMs} ms`)), timeoutMs);
      this.loaded = () => { clearTimeout(timer); resolve(); };
    });
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** Evaluates an expression in the page (awaiting promises) and returns its value. */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result?.value as T;
  }

  /** PNG of the whole page (or the viewport). */
  async screenshot(fullPage = true): Promise<Buffer> {
    const params: Json = { format: 'png' };
    if (fullPage) {
      const m = await this.send('Page.getLayoutMetrics');
      const size = m.cssContentSize ?? m.contentSize;
      params.clip = { x: 0, y: 0, width: Math.ceil(size.width), height: Math.min(16_000, Math.ceil(size.height)), scale: 1 };
      params.captureBeyondViewport = true;
    }
    const { data } = await this.send('Page.captureScreenshot', params);
    return Buffer.from(data as string, 'base64');
  }
}
