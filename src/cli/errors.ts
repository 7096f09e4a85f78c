// Exit codes: 0 ok, 1 runtime failure, 2 usage or input error. The error classes come from their
// own modules, not the barrels, so that start-up (main.ts) stays light.

import { InputError } from "../io/errors.js";
import { DeviceUnavailableError } from "../engine/device.js";

export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(err: unknown): number {
  if (
    err instanceof UsageError ||
    err instanceof InputError ||
    err instanceof DeviceUnavailableError ||
    err instanceof RangeError
  )
    return EXIT_USAGE;
  return EXIT_FAILURE;
}
