/** Input that cannot be drawn as a flame graph (a malformed folded line, a bad option). */
export class FlameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlameError';
  }
}
