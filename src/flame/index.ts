// Folded stacks and flame graphs: the folded text format (read and written) and a self-contained,
// interactive SVG renderer. Knows nothing of where the stacks came from.
export { foldFrame, formatFolded, mergeFolded, parseFolded, type FoldedStack } from './folded.js';
export { renderFlameGraph, type FlameOptions } from './svg.js';
export { FlameError } from './errors.js';
