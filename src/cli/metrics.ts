// deepclust metrics: ACC (Hungarian), NMI and ARI of a predicted column against a true column of
// any CSV / TSV / JSONL file, e.g. a predictions file that kept the labels column.

import { Command } from "commander";
import { resolve } from "node:path";
import { clusteringAccuracy, nmi, ari, labelledSubset } from "../cluster/index.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import { readColumns } from "../io/columns.js";
import { InputError } from "../io/index.js";
import { createProgress } from "./progress.js";
import { UsageError } from "./errors.js";
import { classCount, distinctCount, labelledCount, printJson, scoreLines } from "./common.js";

interface MetricsCliOptions {
  true: string;
  pred: string;
  json: boolean;
}

export function metricsCommand(): Command {
  return new Command("metrics")
    .description(
      "Clustering metrics of a predicted column against a true column: ACC (best one-to-one mapping), NMI, ARI",
    )
    .argument(
      "<file>",
      "a .csv, .tsv or .jsonl file with both columns (e.g. the output of `deepclust predict` on labelled data)",
    )
    .requiredOption(
      "--true <column>",
      "column of ground-truth labels; rows whose label is missing (empty, NA, NaN, null …) are left out of the scores",
    )
    .requiredOption("--pred <column>", "column of predicted clusters (e.g. cluster)")
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText(
      "after",
      "\nExample:\n  deepclust predict model test.csv --out predictions.csv\n  deepclust metrics predictions.csv --true labels --pred cluster",
    )
    .action(async (file: string, o: MetricsCliOptions) => {
      const progress = createProgress({ json: o.json });
      if (o.true === o.pred) throw new UsageError(`--true and --pred name the same column '${o.true}'`);
      const cols = await readColumns(file, [o.true, o.pred], [o.true]);
      const truth = finalizeLabels(cols[o.true]!);
      const yPred = finalizeLabels(cols[o.pred]!);
      const gap = yPred.indexOf(null);
      if (gap >= 0) throw new InputError(file, `missing predicted cluster '${cols[o.pred]![gap]}'`, gap + 1, o.pred);
      const labelled = labelledCount(truth);
      if (labelled === 0)
        throw new InputError(
          file,
          `every one of the ${truth.length} labels is missing (empty, NA, NaN, null …): nothing to score against`,
          undefined,
          o.true,
        );
      // Scores over the labelled rows; the clusters found are of every row.
      const s = labelledSubset(truth, yPred as (number | string)[]);
      const acc = clusteringAccuracy(s.yTrue, s.yPred);
      const summary = {
        file: resolve(file),
        true: o.true,
        pred: o.pred,
        n: truth.length,
        labelled,
        unlabelled: truth.length - labelled,
        clustersFound: distinctCount(yPred),
        classes: classCount(truth),
        acc: acc.accuracy,
        nmi: nmi(s.yTrue, s.yPred),
        ari: ari(s.yTrue, s.yPred),
        mapping: Object.fromEntries([...acc.mapping].map(([p, t]) => [String(p), t])),
      };
      if (o.json) return printJson(summary);
      for (const line of scoreLines(summary)) progress.log(line);
    });
}
