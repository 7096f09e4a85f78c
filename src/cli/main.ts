#!/usr/bin/env node
// The deepclust command line.

import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { pretrainCommand } from "./pretrain.js";
import { trainCommand } from "./train.js";
import { predictCommand, evaluateCommand } from "./predict.js";
import { kmeansCommand } from "./kmeans.js";
import { metricsCommand } from "./metrics.js";
import { exportCommand } from "./export.js";
import { importTorchCommand } from "./import-torch.js";
import { serveCommand } from "./serve.js";
import { reportCommand } from "./report.js";
import { EXIT_USAGE, exitCodeFor } from "./errors.js";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("deepclust")
  .description("Deep embedded clustering (DEC, IDEC) of embedding vectors, trained on ONNX Runtime")
  .version(version)
  .showHelpAfterError()
  .exitOverride();
for (const command of [trainCommand(), predictCommand(), evaluateCommand(), kmeansCommand(), metricsCommand(), exportCommand(), importTorchCommand(), serveCommand(), reportCommand(), pretrainCommand()]) {
  program.addCommand(command.showHelpAfterError(`(run deepclust ${command.name()} --help for usage)`).exitOverride());
}

// A reader that stops early (`deepclust … --help | head -1`) closes the pipe: stop quietly, as Unix
// tools do, instead of an unhandled EPIPE error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});

// Ctrl-C: exit through process.exit so that 'exit' handlers remove temporary output files.
process.once("SIGINT", () => {
  process.stderr.write("\ndeepclust: interrupted\n");
  process.exit(130);
});

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
