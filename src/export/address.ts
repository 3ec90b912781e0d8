// The --prometheus address, parsed without loading the exporter (the CLI validates options first).
export interface ListenAddress {
  /** Empty: every interface. */
  host: string;
  port: number;
}

/**
 * Parses `[HOST]:PORT` (`:9464`, `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`; port 0: any free port).
 * Returns null when the text is not of that form.
 */
export function parseListenAddress(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Listening failed (address in use, not allowed, bad host). */
export class ExporterListenError extends Error {
  constructor(readonly address: string, readonly code: string) {
    super(`cannot serve metrics on ${address}: ${describeCode(code)}`);
    this.name = 'ExporterListenError';
  }
}

function describeCode(code: string): string {
  switch (code) {
    case 'EADDRINUSE': return 'the address is already in use (another exporter on this port?); choose another port';
    case 'EACCES': return 'permission denied (ports below 1024 need privilege); choose a port from 1024 on';
    case 'EADDRNOTAVAIL': return 'no interface of this machine has that address';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'the host name does not resolve';
    default: return code;
  }
}
