// What choose-k shows in HTML: every criterion against k (one panel each, its own choice marked,
// the recommended k drawn across all), the table of values and the recommendation's reason. The
// same section appears in a training report when the model was trained with `-k auto`.

import { writeFileAtomically } from "../io/atomic-file.js";
import { RECOMMENDATION_RULE, computedCriteria, type ChooseKResult } from "../cluster/choose-k.js";
import { DEEPCLUST_VERSION } from "../version.js";
import { chartDivs, escapeHtml, htmlPage, table } from "./html.js";
import { chooseKChart, type Chart } from "./specs.js";
import type { RefinedCandidate } from "../pipeline/choose-k.js";

/** The section's HTML: the chart's container, the recommendation and the per-k table. */
export function chooseKSection(s: ChooseKResult, charts: Chart[]): string[] {
  const sampled = s.sampleRows < s.rows ? ` on a seeded sample of ${s.sampleRows} of the ${s.rows} rows` : "";
  const shown = computedCriteria(s.criteria);
  const rows = s.ks.map((k, i) => [
    String(k),
    ...shown.map((n) => {
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
    `<p><strong>Recommended: k = ${s.recommended}.</strong> ${escapeHtml(s.reason.charAt(0).toUpperCase() + s.reason.slice(1))}.</p>`,
    chartDivs(charts, "choose-k"),
    `<p class="meta">k-means on the autoencoder's code for every candidate${escapeHtml(sampled)}${shown.includes("layoutDaviesBouldin") ? ", and on the code's UMAP layout for layoutDaviesBouldin" : ""}; the dashed line is the recommended k, a diamond each criterion's own choice. Rules: ${shown.map((n) => `${escapeHtml(n)}: ${escapeHtml(s.criteria[n].rule)}`).join("; ")}. ${escapeHtml(RECOMMENDATION_RULE)}</p>`,
    table(["k", ...shown], rows),
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
