// `prog dump`: placeholder; the tracer's author wires the programs' listing here.
import { CliError, EXIT } from '../errors.js';
import type { Command } from './types.js';

export const command: Command = {
  async run() {
    throw new CliError('prog dump is not implemented yet', EXIT.RUNTIME);
  },
};
