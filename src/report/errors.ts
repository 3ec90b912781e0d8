// The report's typed failures (the CLI maps them to the user's line in src/cli/errors.ts). No imports,
// so that mapping them costs nothing at start-up.

/** The input holds nothing to report on (no records, no samples, no time stamps). */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

/** The installation lacks the viewer bundle (dist/report-view.js). */
export class ReportAssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportAssetError';
  }
}
