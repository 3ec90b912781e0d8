// Errors of the text parsers. A program line can be megabytes long (generated code, a pasted hex
// dump): messages quote at most a short excerpt of it, never the whole line.

const EXCERPT = 60;

/** `text` cut to a short excerpt ("mov32 %r0, 1" or "r0 = 1 r0 = 1 r0… (1048576 chars)"). */
export function excerpt(text: string, max = EXCERPT): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max)}… (${t.length} chars)`;
}

/** A line of assembly that does not parse: `line` is 1-based. */
export class AsmSyntaxError extends Error {
  constructor(readonly line: number, text: string, readonly reason: string) {
    super(`line ${line} \`${excerpt(text)}\`: ${reason}`);
    this.name = 'AsmSyntaxError';
  }
}
