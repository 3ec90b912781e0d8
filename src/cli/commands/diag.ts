// `diag`: placeholder; the tracer's author wires the eBPF environment checks here.
import { CliError, EXIT } from '../errors.js';
import type { Command } from './types.js';

export const command: Command = {
  async run() {
    throw new CliError('diag is not implemented yet', EXIT.RUNTIME);
  },
};
