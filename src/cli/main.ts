#!/usr/bin/env node
// The deepclust command line.

import { Command, CommanderError } from "commander";
import { DEEPCLUST_VERSION } from "../version.js";
import { EXIT_USAGE, exitCodeFor } from "./errors.js";

const program = new Command("deepclust")
  .description("Deep embedded clustering (DEC, IDEC) of embedding vectors, trained on ONNX Runtime")
  .version(DEEPCLUST_VERSION)
  .showHelpAfterError()
  .exitOverride();
// Each command's module is imported only when that command runs: start-up then loads one command's
// dependencies, not every command's (`deepclust kmeans` starts in about a third of the time). The
// overview (`deepclust --help`, no command, an unknown name) loads them all, in this order.
const COMMANDS: Record<string, () => Promise<Command>> = {
  train: async () => (await import("./train.js")).trainCommand(),
  predict: async () => (await import("./predict.js")).predictCommand(),
  evaluate: async () => (await import("./predict.js")).evaluateCommand(),
  kmeans: async () => (await import("./kmeans.js")).kmeansCommand(),
  metrics: async () => (await import("./metrics.js")).metricsCommand(),
  export: async () => (await import("./export.js")).exportCommand(),
  "import-torch": async () => (await import("./import-torch.js")).importTorchCommand(),
  serve: async () => (await import("./serve.js")).serveCommand(),
  report: async () => (await import("./report.js")).reportCommand(),
  topics: async () => (await import("./topics.js")).topicsCommand(),
  embed: async () => (await import("./embed.js")).embedCommand(),
  pretrain: async () => (await import("./pretrain.js")).pretrainCommand(),
  "choose-k": async () => (await import("./choose-k.js")).chooseKCommand(),
};
const named = process.argv[2];
const needed = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const command of await Promise.all(needed.map((name) => COMMANDS[name]!()))) {
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
