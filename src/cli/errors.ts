// Exit codes: 0 ok, 1 runtime failure, 2 usage or input error.

import { InputError } from "../io/index.js";
import { DeviceUnavailableError } from "../engine/index.js";

export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof InputError || err instanceof DeviceUnavailableError || err instanceof RangeError) return EXIT_USAGE;
  return EXIT_FAILURE;
}
