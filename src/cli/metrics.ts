// deepclust metrics: ACC (Hungarian), NMI and ARI of a predicted column against a true column of
// any CSV / TSV / JSONL file, e.g. a predictions file that kept the labels column.

import { Command } from "commander";
import { resolve } from "node:path";
import { clusteringAccuracy, nmi, ari } from "../cluster/index.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import { readColumns } from "../io/columns.js";
import { createProgress } from "./progress.js";
import { UsageError } from "./errors.js";
import { distinctCount, printJson, scoreLines } from "./common.js";

interface MetricsCliOptions {
  true: string;
  pred: string;
  json: boolean;
}

export function metricsCommand(): Command {
  return new Command("metrics")
    .description("Clustering metrics of a predicted column against a true column: ACC (best one-to-one mapping), NMI, ARI")
    .argument("<file>", "a .csv, .tsv or .jsonl file with both columns (e.g. the output of `deepclust predict` on labelled data)")
    .requiredOption("--true <column>", "column of ground-truth labels")
    .requiredOption("--pred <column>", "column of predicted clusters (e.g. cluster)")
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText("after", "\nExample:\n  deepclust predict model test.csv --out predictions.csv\n  deepclust metrics predictions.csv --true labels --pred cluster")
    .action(async (file: string, o: MetricsCliOptions) => {
      const progress = createProgress({ json: o.json });
      if (o.true === o.pred) throw new UsageError(`--true and --pred name the same column '${o.true}'`);
      const cols = await readColumns(file, [o.true, o.pred]);
      const yTrue = finalizeLabels(cols[o.true]!) as number[] | string[];
      const yPred = finalizeLabels(cols[o.pred]!) as number[] | string[];
      const acc = clusteringAccuracy(yTrue, yPred);
      const summary = {
        file: resolve(file),
        true: o.true,
        pred: o.pred,
        n: yTrue.length,
        clustersFound: distinctCount(yPred),
        classes: distinctCount(yTrue),
        acc: acc.accuracy,
        nmi: nmi(yTrue, yPred),
        ari: ari(yTrue, yPred),
        mapping: Object.fromEntries([...acc.mapping].map(([p, t]) => [String(p), t])),
      };
      if (o.json) return printJson(summary);
      for (const line of scoreLines(summary)) progress.log(line);
    });
}
