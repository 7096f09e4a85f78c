// What choose-k shows in HTML: every criterion against k (one panel each, its own choice marked,
// the recommended k drawn across all), the table of values and the recommendation's reason. The
// same section appears in a training report when the model was trained with `-k auto`.

import { writeFileAtomically } from "../io/atomic-file.js";
import { CRITERIA, type ChooseKResult, type CriterionName } from "../cluster/choose-k.js";
import { DEEPCLUST_VERSION } from "../version.js";
import { chartDivs, escapeHtml, htmlPage, table } from "./html.js";
import type { Chart } from "./specs.js";
import type { RefinedCandidate } from "../pipeline/choose-k.js";

const TITLES: Record<CriterionName, string> = {
  silhouette: "silhouette (higher is better)",
  calinskiHarabasz: "Calinski–Harabasz (higher is better)",
  daviesBouldin: "Davies–Bouldin (lower is better)",
  gap: "gap statistic ± s(k)",
  stability: "stability: mean ARI over resamples ± sd",
  knee: "k-means inertia (knee)",
};

/** The criteria against k as one faceted Vega-Lite chart. */
export function chooseKChart(s: ChooseKResult, id = "choose-k"): Chart {
  const values = CRITERIA.flatMap((name) =>
    s.ks.map((k, i) => {
      const v = s.criteria[name].values[i] ?? null;
      const spread = name === "gap" ? s.gapStandardError[i]! : name === "stability" ? s.stabilitySd[i]! : null;
      return {
        criterion: TITLES[name],
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
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: `Criteria against k (recommended: k = ${s.recommended})`,
      data: { values },
      columns: 3,
      facet: { field: "criterion", type: "nominal", title: null, sort: CRITERIA.map((n) => TITLES[n]) },
      resolve: { scale: { y: "independent" } },
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
    },
  };
}

/** The section's HTML: the chart's container, the recommendation and the per-k table. */
export function chooseKSection(s: ChooseKResult, charts: Chart[]): string[] {
  const sampled = s.sampleRows < s.rows ? ` on a seeded sample of ${s.sampleRows} of the ${s.rows} rows` : "";
  const rows = s.ks.map((k, i) => [
    String(k),
    ...CRITERIA.map((n) => {
      const v = s.criteria[n].values[i];
      const text =
        v === null || v === undefined
          ? "–"
          : n === "calinskiHarabasz" || n === "knee"
            ? v.toPrecision(5)
            : v.toFixed(4);
      return s.criteria[n].choice === k ? `${text} ◆` : text;
    }),
  ]);
  return [
    `<p><strong>Recommended: k = ${s.recommended}.</strong> ${escapeHtml(s.reason)}.</p>`,
    chartDivs(charts, "choose-k"),
    `<p class="meta">k-means on the autoencoder's code for every candidate${escapeHtml(sampled)}; the dashed line is the recommended k, a diamond each criterion's own choice. Rules: ${CRITERIA.map((n) => `${escapeHtml(n)}: ${escapeHtml(s.criteria[n].rule)}`).join("; ")}. The recommendation is the k chosen by the most criteria (a tie: the best mean rank over all criteria, then the smaller k).</p>`,
    table(["k", ...CRITERIA.map((n) => n)], rows),
  ];
}

/** choose-k --out: the page. */
export function renderChooseKPage(
  s: ChooseKResult,
  meta: { title: string; data: string; refined?: RefinedCandidate[] | null },
): string {
  const chart = chooseKChart(s);
  const body = [
    `<h1>${escapeHtml(meta.title)}</h1>`,
    `<p class="meta">data <code>${escapeHtml(meta.data)}</code>: ${s.rows} rows · candidates k = ${s.ks[0]}..${s.ks.at(-1)} · ${s.seconds.toFixed(1)} s</p>`,
    `<p id="render-error" hidden></p>`,
    `<h2>Choosing k</h2>`,
    ...chooseKSection(s, [chart]),
  ];
  if (meta.refined?.length) {
    body.push(`<h2>DEC from each candidate's start (--refine dec)</h2>`);
    const f = (v: number | null, d = 4) => (v === null ? "–" : v.toFixed(d));
    body.push(
      table(
        ["k", "silhouette", "Calinski–Harabasz", "Davies–Bouldin", "ACC (labels)"],
        meta.refined.map((r) => [String(r.k), f(r.silhouette), f(r.calinskiHarabasz, 1), f(r.daviesBouldin), f(r.acc)]),
      ),
    );
  }
  return htmlPage({
    title: meta.title,
    version: DEEPCLUST_VERSION,
    body,
    footer: `Generated ${escapeHtml(new Date().toISOString())} by <code>deepclust choose-k</code>. Charts: Vega-Lite, inlined; this file needs no network.`,
    charts: [chart],
  });
}

/** Writes the page atomically. */
export async function writeChooseKPage(
  file: string,
  s: ChooseKResult,
  meta: { title: string; data: string; refined?: RefinedCandidate[] | null },
): Promise<void> {
  writeFileAtomically(file, renderChooseKPage(s, meta));
}
