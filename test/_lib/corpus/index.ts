// The verifier corpus: small programs with our expected verdict and the kernel's (as root).
export type { CorpusEntry } from './common.js';
export { ACCEPTED } from './accepted.js';
export { REJECTED } from './rejected.js';
import { ACCEPTED } from './accepted.js';
import { REJECTED } from './rejected.js';
export const CORPUS = [...ACCEPTED, ...REJECTED];
