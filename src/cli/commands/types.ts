// One subcommand = one module exporting `command`; the table in ./index.ts only names and loads them.

export interface CommandContext {
  /** Arguments after the subcommand word. */
  args: string[];
  /** Raw values of the options given before the subcommand (validated by the command that uses them). */
  globalValues: Record<string, string | boolean | undefined>;
  /** Prints the help text (commands do not import it: it is rendered from the command table). */
  printHelp: () => void;
}

export interface Command {
  /** Runs the command; resolves to the process exit code. Throws CliError for expected failures. */
  run(ctx: CommandContext): Promise<number>;
}
