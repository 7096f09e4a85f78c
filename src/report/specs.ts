// The report's charts as Vega-Lite specs (rendered in the page by vega-embed). Each spec carries
// its data inline (data.values), so the page needs no file or network access.

import type { ReportData } from "./data.js";
import { computedCriteria, type ChooseKResult, type CriterionName } from "../cluster/choose-k.js";

export type Spec = Record<string, unknown>;

export interface Chart {
  /** The id of the chart's container element in the page. */
  id: string;
  /** Section heading the chart appears under. */
  section: "training" | "clusters" | "labels" | "topics" | "choose-k";
  spec: Spec;
  /** vega-embed's renderer: SVG, or canvas for the thousands of points of the map. */
  renderer: "svg" | "canvas";
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const WIDTH = 620;
/** Categorical colours of the clusters (repeats beyond 20 clusters; the tooltips name the cluster). */
const CLUSTER_SCHEME = "tableau20";
/** Heatmap cells above this many get no count labels (they would not fit). */
const MAX_LABELLED_CELLS = 900;

function spec(body: Spec): Spec {
  return {
    $schema: SCHEMA,
    config: {
      view: { stroke: null },
      axis: { labelFontSize: 11, titleFontSize: 12 },
      title: { fontSize: 14, anchor: "start" },
    },
    ...body,
  };
}

function clusterColor(k: number): Spec {
  return {
    field: "cluster",
    type: "nominal",
    title: "cluster",
    scale: { scheme: CLUSTER_SCHEME },
    ...(k > 20 ? { legend: null } : { legend: { columns: k > 10 ? 2 : 1 } }),
  };
}

export function pretrainChart(d: ReportData): Chart | null {
  if (d.pretrain.length === 0) return null;
  const stages = new Set(d.pretrain.map((p) => p.stage));
  return {
    id: "chart-pretrain",
    section: "training",
    renderer: "svg",
    spec: spec({
      title: { text: "Autoencoder pretraining", subtitle: "mean reconstruction loss (MSE) per epoch" },
      width: WIDTH,
      height: 220,
      data: { values: d.pretrain },
      mark: { type: "line", point: d.pretrain.length <= 60, tooltip: true },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
        y: { field: "loss", type: "quantitative", title: "reconstruction loss", scale: { zero: false } },
        ...(stages.size > 1 ? { color: { field: "stage", type: "nominal", title: "stage" } } : {}),
        tooltip: [
          { field: "epoch", type: "quantitative" },
          { field: "stage", type: "nominal" },
          { field: "loss", type: "quantitative", format: ".5f" },
        ],
      },
    }),
  };
}

export function clusteringChart(d: ReportData): Chart | null {
  if (d.updates.length === 0) return null;
  const name = d.model.method.toUpperCase();
  // One x domain for every panel (a panel's filter would otherwise narrow its own).
  const x = {
    field: "iteration",
    type: "quantitative",
    title: "iteration",
    scale: { domain: [d.updates[0]!.iteration, d.updates.at(-1)!.iteration], nice: false },
  };
  const panel = (field: string, title: string, extra: Spec = {}, format = ".5f"): Spec => ({
    height: 110,
    width: WIDTH,
    transform: [{ filter: `isValid(datum.${field})` }],
    mark: { type: "line", point: d.updates.length <= 40, ...(extra.mark as Spec | undefined) },
    encoding: {
      x,
      y: { field, type: "quantitative", title, scale: { zero: false }, ...(extra.y as Spec | undefined) },
      tooltip: [
        { field: "iteration", type: "quantitative" },
        { field, type: "quantitative", title, format },
      ],
    },
  });
  const panels: Spec[] = [];
  if (d.updates.some((u) => u.kl !== null)) panels.push(panel("kl", "KL(P‖Q) loss"));
  if (d.updates.some((u) => u.rec !== null)) panels.push(panel("rec", "reconstruction loss"));
  if (d.updates.some((u) => u.deltaLabel !== null))
    panels.push(panel("deltaLabel", "Δlabel", { y: { axis: { format: "%" }, scale: { zero: true } } }, ".3%"));
  panels.push(
    panel(
      "nonEmpty",
      "non-empty clusters",
      { mark: { interpolate: "step-after" }, y: { scale: { domain: [0, d.model.k] }, axis: { tickMinStep: 1 } } },
      "d",
    ),
  );
  if (d.updates.some((u) => u.acc !== null)) {
    panels.push({
      height: 110,
      width: WIDTH,
      transform: [{ filter: "isValid(datum.acc)" }, { fold: ["acc", "nmi", "ari"], as: ["score", "value"] }],
      mark: { type: "line", point: d.updates.length <= 40 },
      encoding: {
        x,
        y: { field: "value", type: "quantitative", title: "score (labels)", scale: { domain: [0, 1] } },
        color: { field: "score", type: "nominal", title: "score", sort: ["acc", "nmi", "ari"] },
        tooltip: [
          { field: "iteration", type: "quantitative" },
          { field: "score", type: "nominal" },
          { field: "value", type: "quantitative", format: ".4f" },
        ],
      },
    });
  }
  return {
    id: "chart-clustering",
    section: "training",
    renderer: "svg",
    spec: spec({
      title: {
        text: `${name} clustering phase`,
        subtitle:
          "per target update: loss since the previous update, fraction of points that changed cluster, clusters in use",
      },
      data: { values: d.updates },
      vconcat: panels,
      resolve: { scale: { color: "independent" } },
    }),
  };
}

export function sizesChart(d: ReportData): Chart | null {
  if (!d.sizes) return null;
  const values = d.sizes.counts.map((size, cluster) => ({ cluster, size }));
  const n = d.sizes.counts.reduce((a, b) => a + b, 0);
  return {
    id: "chart-sizes",
    section: "clusters",
    renderer: "svg",
    spec: spec({
      title: {
        text: "Cluster sizes",
        subtitle: d.sizes.source === "data" ? `${n} rows of the data` : `${n} training rows (at the end of training)`,
      },
      width: Math.max(WIDTH, Math.min(4000, 12 * values.length)),
      height: 200,
      data: { values },
      transform: [{ calculate: `datum.size / ${Math.max(n, 1)}`, as: "share" }],
      mark: { type: "bar" },
      encoding: {
        x: {
          field: "cluster",
          type: "ordinal",
          title: "cluster",
          ...(values.length > 60 ? { axis: { labels: false, ticks: false } } : {}),
        },
        y: { field: "size", type: "quantitative", title: "rows" },
        color: { ...clusterColor(d.model.k), legend: null },
        tooltip: [
          { field: "cluster", type: "ordinal" },
          { field: "size", type: "quantitative", title: "rows" },
          { field: "share", type: "quantitative", format: ".1%" },
        ],
      },
    }),
  };
}

export function mapChart(d: ReportData): Chart | null {
  if (!d.map) return null;
  const m = d.map;
  const axis = m.method === "umap" ? "UMAP" : "PC";
  const points = m.points;
  const has = (f: "label" | "id" | "text") => points.some((p) => p[f] !== undefined);
  const subtitle = `${m.method === "umap" ? "UMAP" : "PCA"} of the learned code, ${m.shown === m.rows ? `all ${m.rows} rows` : `${m.shown} of ${m.rows} rows (seeded subsample, seed ${m.seed})`}; scroll to zoom, drag to pan`;
  return {
    id: "chart-map",
    section: "clusters",
    renderer: "canvas",
    spec: spec({
      title: { text: "Map of the code, coloured by cluster", subtitle },
      width: WIDTH,
      height: 520,
      data: { values: points },
      params: [{ name: "zoom", select: "interval", bind: "scales" }],
      mark: { type: "circle", size: points.length > 2000 ? 14 : 24, opacity: 0.75 },
      encoding: {
        x: {
          field: "x",
          type: "quantitative",
          title: `${axis} 1`,
          scale: { zero: false },
          axis: { labels: false, ticks: false, grid: false },
        },
        y: {
          field: "y",
          type: "quantitative",
          title: `${axis} 2`,
          scale: { zero: false },
          axis: { labels: false, ticks: false, grid: false },
        },
        color: clusterColor(d.model.k),
        tooltip: [
          { field: "cluster", type: "nominal" },
          ...(has("label") ? [{ field: "label", type: "nominal", title: "true class" }] : []),
          ...(has("id") ? [{ field: "id", type: "nominal" }] : []),
          ...(has("text") ? [{ field: "text", type: "nominal" }] : []),
        ],
      },
    }),
  };
}

/**
 * Each cluster's confidence (max q) as a box plot (min to max, quartiles, median) over the map's
 * rows, with the outlier threshold as a solid line or, for a model without one, the reference
 * quantile of the training confidences as a dashed one.
 */
export function confidenceChart(d: ReportData): Chart | null {
  const c = d.confidence;
  if (!c || c.points.length === 0) return null;
  const t = c.threshold;
  const rows =
    c.shown === c.rows ? `all ${c.rows} rows` : `${c.shown} of ${c.rows} rows (seeded subsample, seed ${c.seed})`;
  // Subtitle lines short enough for the chart's width.
  const lines = !t
    ? ["no training record of the confidences: no threshold line"]
    : t.kind === "model"
      ? [
          `red line: the model's outlier threshold ${t.value.toFixed(4)}${t.rate !== null ? ` (${(100 * t.rate).toFixed(1)} % of the training rows below it)` : ""}`,
          `${c.outliers} of the ${c.rows} rows (${((100 * c.outliers!) / Math.max(1, c.rows)).toFixed(1)} %) fall below it: cluster -1 (outliers)`,
        ]
      : [
          `dashed line, a reference only: ${(100 * t.rate!).toFixed(0)} % of the training rows fall below ${t.value.toFixed(4)}`,
          "the model has no outlier threshold (train or predict --outlier-rate / --min-confidence)",
        ];
  const label =
    t === null
      ? ""
      : t.kind === "model"
        ? `outlier threshold ${t.value.toFixed(3)}`
        : `reference: training ${(100 * t.rate!).toFixed(0)} % quantile ${t.value.toFixed(3)}`;
  const k = d.model.k;
  const ruleColor = "#d62728";
  return {
    id: "chart-confidence",
    section: "clusters",
    renderer: "svg",
    spec: spec({
      title: {
        text: "Confidence per cluster",
        subtitle: [`max q of each row by its cluster (argmax), ${rows}`, ...lines],
      },
      width: Math.max(WIDTH, Math.min(4000, 16 * k)),
      height: 240,
      layer: [
        {
          data: { values: c.points },
          mark: { type: "boxplot", extent: "min-max", size: k > 40 ? 6 : 14 },
          encoding: {
            x: {
              field: "cluster",
              type: "ordinal",
              title: "cluster",
              axis: k > 60 ? { labels: false, ticks: false } : { labelAngle: 0 },
            },
            y: { field: "confidence", type: "quantitative", title: "confidence (max q)", scale: { zero: false } },
            color: { ...clusterColor(k), legend: null },
          },
        },
        ...(t
          ? [
              {
                data: { values: [{ threshold: t.value, label }] },
                layer: [
                  {
                    mark: {
                      type: "rule",
                      color: ruleColor,
                      strokeWidth: 1.5,
                      ...(t.kind === "reference" ? { strokeDash: [6, 4] } : {}),
                    },
                    encoding: { y: { field: "threshold", type: "quantitative" } },
                  },
                  {
                    mark: {
                      type: "text",
                      align: "left",
                      baseline: "bottom",
                      x: 4,
                      dy: -3,
                      color: ruleColor,
                      fontSize: 11,
                    },
                    encoding: {
                      y: { field: "threshold", type: "quantitative" },
                      text: { field: "label", type: "nominal" },
                    },
                  },
                ],
              },
            ]
          : []),
      ],
    }),
  };
}

export function contingencyChart(d: ReportData): Chart | null {
  const c = d.contingency;
  if (!c) return null;
  const step = c.columns.length > 40 || c.classes.length > 40 ? 12 : 28;
  const labelled = c.cells.length <= MAX_LABELLED_CELLS;
  const max = Math.max(1, ...c.cells.map((x) => x.count));
  const x = {
    field: "column",
    type: "ordinal",
    title: "cluster → mapped class",
    sort: c.columns,
    axis: { labelAngle: -45 },
  };
  const y = { field: "label", type: "ordinal", title: "true class", sort: c.classes };
  return {
    id: "chart-contingency",
    section: "labels",
    renderer: c.cells.length > 10_000 ? "canvas" : "svg",
    spec: spec({
      title: {
        text: "Contingency matrix: true class × cluster",
        subtitle: `columns ordered by the Hungarian mapping (cluster → class); outlined cells are the mapped pairs (ACC ${(100 * c.accuracy).toFixed(1)} %)`,
      },
      width: { step },
      height: { step },
      data: { values: c.cells },
      encoding: { x, y },
      layer: [
        { mark: { type: "rect", fill: "#f4f4f4" } },
        {
          transform: [{ filter: "datum.count > 0" }],
          mark: { type: "rect" },
          encoding: {
            color: { field: "count", type: "quantitative", title: "rows", scale: { scheme: "blues", domainMin: 0 } },
            tooltip: [
              { field: "label", type: "nominal", title: "true class" },
              { field: "cluster", type: "nominal" },
              { field: "count", type: "quantitative", title: "rows" },
              { field: "mapped", type: "nominal", title: "mapped pair" },
            ],
          },
        },
        {
          transform: [{ filter: "datum.mapped" }],
          mark: { type: "rect", filled: false, stroke: "#d62728", strokeWidth: 2 },
        },
        ...(labelled
          ? [
              {
                transform: [{ filter: "datum.count > 0" }],
                mark: { type: "text", fontSize: step > 20 ? 10 : 7 },
                encoding: {
                  text: { field: "count", type: "quantitative" },
                  color: { condition: { test: `datum.count > ${max / 2}`, value: "white" }, value: "black" },
                },
              },
            ]
          : []),
      ],
    }),
  };
}

/** Clusters beyond this many get no panel of term weights (the table still lists their terms). */
export const MAX_TOPIC_PANELS = 60;

/** Each cluster's top terms and their c-TF-IDF weights, a small bar chart per cluster. */
export function topicsChart(d: ReportData): Chart | null {
  const shown = (d.topics ?? []).filter((t) => t.terms.length > 0).slice(0, MAX_TOPIC_PANELS);
  if (!shown.length) return null;
  const values = shown.flatMap((t) =>
    t.terms.map((w, rank) => ({ cluster: t.cluster, term: w.term, weight: w.weight, rank })),
  );
  return {
    id: "chart-topics",
    section: "topics",
    renderer: "svg",
    spec: spec({
      title: { text: "Top terms per cluster", subtitle: "class-based TF-IDF weight of each word or word pair" },
      data: { values },
      columns: 3,
      facet: { field: "cluster", type: "ordinal", title: "cluster" },
      spec: {
        width: 170,
        height: { step: 12 },
        mark: { type: "bar" },
        encoding: {
          y: { field: "term", type: "nominal", sort: { field: "rank", order: "ascending" }, title: null },
          x: { field: "weight", type: "quantitative", title: "weight" },
          color: { ...clusterColor(d.model.k), legend: null },
          tooltip: [
            { field: "cluster", type: "ordinal" },
            { field: "term", type: "nominal" },
            { field: "weight", type: "quantitative", format: ".4f" },
          ],
        },
      },
      resolve: { scale: { y: "independent", x: "independent" } },
    }),
  };
}

const CRITERION_TITLES: Record<CriterionName, string> = {
  silhouette: "silhouette (higher is better)",
  calinskiHarabasz: "Calinski–Harabasz (higher is better)",
  daviesBouldin: "Davies–Bouldin (lower is better)",
  gap: "gap statistic ± s(k)",
  stability: "stability: mean ARI over resamples ± sd",
  knee: "k-means inertia (knee)",
  layoutDaviesBouldin: "Davies–Bouldin on the UMAP layout (lower is better)",
};

/** The criteria against k as one faceted Vega-Lite chart. */
export function chooseKChart(s: ChooseKResult, id = "choose-k"): Chart {
  const shown = computedCriteria(s.criteria);
  const values = shown.flatMap((name) =>
    s.ks.map((k, i) => {
      const v = s.criteria[name].values[i] ?? null;
      const spread = name === "gap" ? s.gapStandardError[i]! : name === "stability" ? s.stabilitySd[i]! : null;
      return {
        criterion: CRITERION_TITLES[name],
        k,
        value: v,
        lo: v !== null && spread !== null ? v - spread : null,
        hi: v !== null && spread !== null ? v + spread : null,
        chosen: s.criteria[name].choice === k,
        recommended: s.recommended === k,
      };
    }),
  );
  const x = { field: "k", type: "quantitative", title: "k", scale: { zero: false }, axis: { tickMinStep: 1 } };
  return {
    id,
    section: "choose-k",
    renderer: "svg",
    spec: spec({
      title: `Criteria against k (recommended: k = ${s.recommended})`,
      data: { values },
      columns: 3,
      facet: { field: "criterion", type: "nominal", title: null, sort: shown.map((n) => CRITERION_TITLES[n]) },
      // An axis per panel: a shared x axis would also be drawn under the empty cells of the last row.
      resolve: { scale: { y: "independent" }, axis: { x: "independent" } },
      spec: {
        width: 250,
        height: 170,
        layer: [
          {
            transform: [{ filter: "datum.recommended" }],
            mark: { type: "rule", color: "#d62728", strokeDash: [4, 3] },
            encoding: { x },
          },
          {
            mark: { type: "line", color: "#4c78a8" },
            encoding: { x, y: { field: "value", type: "quantitative", title: null, scale: { zero: false } } },
          },
          {
            transform: [{ filter: "datum.lo !== null" }],
            mark: { type: "rule", color: "#9ecae9" },
            encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
          },
          {
            mark: { type: "point", filled: true, size: 28, color: "#4c78a8" },
            encoding: {
              x,
              y: { field: "value", type: "quantitative" },
              tooltip: [
                { field: "k", type: "quantitative" },
                { field: "value", type: "quantitative", format: ".4~g" },
              ],
            },
          },
          {
            transform: [{ filter: "datum.chosen" }],
            mark: { type: "point", shape: "diamond", filled: true, size: 120, color: "#ff7f0e" },
            encoding: { x, y: { field: "value", type: "quantitative" } },
          },
        ],
      },
    }),
  };
}

/** Every chart the data allows, in page order. */
export function reportCharts(d: ReportData): Chart[] {
  return [
    sizesChart(d),
    mapChart(d),
    confidenceChart(d),
    contingencyChart(d),
    topicsChart(d),
    d.chooseK ? chooseKChart(d.chooseK) : null,
    pretrainChart(d),
    clusteringChart(d),
  ].filter((c): c is Chart => c !== null);
}
