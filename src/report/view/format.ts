// Number formatting for the view: bytes, rates, durations, counts.
import type { Unit } from '../types.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(v: number): string {
  let x = Math.abs(v);
  let u = 0;
  while (x >= 1024 && u < UNITS.length - 1) { x /= 1024; u++; }
  return `${v < 0 ? '-' : ''}${u === 0 ? Math.round(x) : x.toFixed(x >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

export function count(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(a >= 10 ? 1 : 2);
}

export const int = (v: number): string => Math.round(v).toLocaleString('en-US');

/** Seconds since start: "12.3 s", "4m05s", "1h02m". */
export function clock(s: number): string {
  if (!Number.isFinite(s)) return '';
  if (Math.abs(s) < 60) return `${s.toFixed(Math.abs(s) < 10 ? 2 : 1)} s`;
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const r = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

export function micros(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(1)} ms`;
  return `${us.toFixed(us >= 10 ? 0 : 1)} µs`;
}

export function value(unit: Unit, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'percent': return `${v.toFixed(v >= 10 ? 0 : 1)} %`;
    case 'bytes': return bytes(v);
    case 'bytes_per_sec': return `${bytes(v)}/s`;
    case 'per_sec': return `${count(v)}/s`;
    case 'secs_per_sec': return `${v.toFixed(v >= 10 ? 1 : 2)} s/s`;
    case 'count': return count(v);
  }
}

/** Axis ticks: shorter than hover values. */
export function axis(unit: Unit, v: number): string {
  switch (unit) {
    case 'percent': return `${Math.round(v)}%`;
    case 'bytes': return bytes(v);
    case 'bytes_per_sec': return `${bytes(v)}/s`;
    case 'per_sec': return `${count(v)}/s`;
    case 'secs_per_sec': return v.toFixed(v >= 10 ? 0 : 1);
    case 'count': return count(v);
  }
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
