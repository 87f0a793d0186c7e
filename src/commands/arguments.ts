/** Parsers of command-line values, shared by the command declarations (src/commands.ts). */
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}

/** A port to listen on; 0 lets the system choose. */
export function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('Expected a port (0-65535).');
  return Number(value);
}

/** A refresh interval in milliseconds, at least 100. */
export function interval(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 100)
    throw new InvalidArgumentError('Expected milliseconds (at least 100).');
  return Number(value);
}
