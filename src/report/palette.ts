// Colours shared by the generator (series colours) and the view (timeline, phases, tables).
// Imports nothing, so the browser bundle can use it.

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export const CATEGORY_COLORS: Record<string, string> = {
  file_io: '#4e79a7', memory: '#59a14f', process: '#f28e2b', network: '#e15759', time: '#76b7b2',
  ipc: '#edc948', security: '#b07aa1', signal: '#ff9da7', system: '#9c755f', other: '#bab0ac',
};
