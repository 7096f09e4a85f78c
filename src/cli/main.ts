#!/usr/bin/env node
// The deepclust command line.

import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { pretrainCommand } from "./pretrain.js";
import { EXIT_USAGE, exitCodeFor } from "./errors.js";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("deepclust")
  .description("Deep embedded clustering (DEC, IDEC) of embedding vectors, trained on ONNX Runtime")
  .version(version)
  .showHelpAfterError()
  .exitOverride();
program.addCommand(pretrainCommand().exitOverride());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; usage errors were already printed by commander.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.stderr.write(`deepclust: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
