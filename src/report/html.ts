// The report page: one self-contained HTML file. vega, vega-lite and vega-embed are inlined from
// node_modules (their UMD builds), the chart specs and their data are one JSON block, and a
// Content-Security-Policy forbids every network request, so the file works offline and anywhere.
//
// User text (file names, column values, labels) reaches the page only through escapeHtml (text
// and attributes) or jsonForScript (inside <script>), which escapes '<', '>' and '&', so no value
// can close the script element or open a tag: "</script>" in a text column stays data.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { truncate, type ReportData } from "./data.js";
import type { Chart } from "./specs.js";
import { chooseKSection } from "./choose-k-page.js";

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON that is safe inside a <script> element: '<', '>', '&' and the JS line separators as \u
 * escapes (JSON.parse reads them back unchanged; they can occur only inside strings).
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The browser builds of the three libraries, in load order, with their versions. */
export const VEGA_LIBRARIES = [
  { name: "vega", file: "vega.min.js" },
  { name: "vega-lite", file: "vega-lite.min.js" },
  { name: "vega-embed", file: "vega-embed.min.js" },
] as const;

let scriptsCache: string | null = null;

/** The libraries as <script> elements (read once per process). */
export function vegaScripts(): string {
  if (scriptsCache !== null) return scriptsCache;
  const require = createRequire(import.meta.url);
  scriptsCache = VEGA_LIBRARIES.map(({ name, file }) => {
    // Each package's main entry lives in its build/ folder, beside the browser build.
    const path = join(dirname(require.resolve(name)), file);
    const { version } = JSON.parse(readFileSync(join(dirname(path), "..", "package.json"), "utf8")) as {
      version: string;
    };
    const code = readFileSync(path, "utf8")
      .replace(/^\/\/# sourceMappingURL=.*$/gm, "") // no map file travels with the page
      .replace(/<\/(script)/gi, "<\\/$1"); // none today; keeps the element closed where we close it
    return `<script data-library="${name}@${version}">\n${code}\n</script>`;
  }).join("\n");
  return scriptsCache;
}

const CSP =
  "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:";

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto; max-width: 1100px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; margin: 0 0 12px; } .note { color: #8a5a00; background: #fff7e0; padding: 6px 10px; border-radius: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; } th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f6f6f6; font-weight: 600; }
.chart { margin: 12px 0 20px; overflow-x: auto; } .tables { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
.mapping { max-height: 420px; overflow-y: auto; } #render-error { color: #b00020; font-weight: 600; }
code { background: #f4f4f4; padding: 0 3px; border-radius: 3px; }
`;

function fmt(x: number, digits = 4): string {
  return x.toFixed(digits);
}

function seconds(s: number): string {
  return s < 10
    ? `${s.toFixed(2)} s`
    : s < 600
      ? `${s.toFixed(1)} s`
      : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function table(head: string[], rows: string[][], cls = ""): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<div class="${cls}"><table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

export function chartDivs(charts: Chart[], section: Chart["section"]): string {
  return charts
    .filter((c) => c.section === section)
    .map((c) => `<div class="chart" id="${escapeHtml(c.id)}" data-renderer="${c.renderer}"></div>`)
    .join("\n");
}

/** The whole page. */
export function renderReportHtml(d: ReportData, charts: Chart[]): string {
  const m = d.model;
  const name = m.method.toUpperCase();
  const stopText = (r: { converged: boolean | null; stopReason: string | null }) =>
    r.converged === true
      ? ", converged"
      : r.stopReason === "hold"
        ? ", stopped at the held target's epoch budget"
        : r.converged === false
          ? ", stopped at the iteration limit"
          : "";
  const meta = [
    `${name}, autoencoder ${m.dims.join("→")}, k = ${m.k}, α = ${m.alpha}, seed ${m.seed}`,
    m.trainingFile
      ? `trained on ${basename(m.trainingFile)}${m.trainingRows !== null ? ` (${m.trainingRows} rows)` : ""}`
      : null,
    m.iterations !== null ? `${m.iterations} clustering iterations${stopText(m)}` : null,
    m.selectedIteration !== null
      ? `state of iteration ${m.selectedIteration} kept by --select-best-by-labels (supervised)`
      : null,
    m.createdAt ? `created ${m.createdAt}` : null,
    m.deepclustVersion ? `deepclust ${m.deepclustVersion}` : null,
  ].filter((x): x is string => x !== null);

  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(d.title)}</h1>`);
  parts.push(`<p class="meta">${meta.map(escapeHtml).join(" · ")}</p>`);
  if (m.dir) parts.push(`<p class="meta">model directory <code>${escapeHtml(m.dir)}</code></p>`);
  if (d.data) {
    const dd = d.data;
    const labelled =
      dd.hasLabels && dd.labelled < dd.rows
        ? ` (${dd.labelled} labelled of ${dd.rows} rows, ${dd.rows - dd.labelled} unlabelled)`
        : "";
    parts.push(
      `<p class="meta">data <code>${escapeHtml(dd.file)}</code>: ${dd.rows} rows${dd.labelsColumn ? `, labels from column '${escapeHtml(dd.labelsColumn)}'` : dd.hasLabels ? ", labels from a labels file" : ", no labels"}${labelled}</p>`,
    );
  }
  for (const n of d.notes) parts.push(`<p class="note">${escapeHtml(n)}</p>`);
  parts.push(`<p id="render-error" hidden></p>`);

  const tables: string[] = [];
  if (d.scores.length)
    tables.push(
      table(
        ["", "ACC", "NMI", "ARI"],
        d.scores.map((s) => [s.name, fmt(s.acc), fmt(s.nmi), fmt(s.ari)]),
      ),
    );
  if (d.internal.length)
    tables.push(
      table(
        ["", "silhouette", "Calinski–Harabasz", "Davies–Bouldin"],
        d.internal.map((s) => [
          s.name,
          fmt(s.silhouette) + (s.silhouetteRows < s.rows ? "*" : ""),
          s.calinskiHarabasz.toFixed(1),
          fmt(s.daviesBouldin),
        ]),
      ),
    );
  if (d.timings.length)
    tables.push(
      table(
        ["stage", "time"],
        d.timings.map((t) => [t.stage, seconds(t.seconds)]),
      ),
    );
  if (tables.length) parts.push(`<h2>Summary</h2>\n<div class="tables">${tables.join("\n")}</div>`);
  const partly = m.trainingLabelled !== null && m.trainingRows !== null && m.trainingLabelled < m.trainingRows;
  const over = partly
    ? ` Training scores are over the ${m.trainingLabelled} labelled of ${m.trainingRows} training rows (${m.trainingRows! - m.trainingLabelled!} unlabelled).`
    : "";
  if (d.scores.length)
    parts.push(
      `<p class="meta">Scores against the labels (evaluation only): ACC with the Hungarian cluster → class mapping, NMI, ARI, over the labelled rows.${over}</p>`,
    );

  if (d.internal.length) {
    const sampled = d.internal.find((s) => s.silhouetteRows < s.rows);
    parts.push(
      `<p class="meta">Internal scores (no labels needed), in the model's code space: silhouette (−1 to 1, higher is better), Calinski–Harabasz (higher is better), Davies–Bouldin (lower is better, 0 at best).${sampled ? ` * silhouette of a seeded sample of ${sampled.silhouetteRows} of the ${sampled.rows} rows.` : ""}</p>`,
    );
  }

  parts.push(`<h2>Clusters</h2>`);
  parts.push(chartDivs(charts, "clusters") || `<p class="note">No cluster sizes: give --data.</p>`);

  const c = d.contingency;
  if (c) {
    parts.push(`<h2>Clusters vs labels</h2>`);
    parts.push(chartDivs(charts, "labels"));
    const rows = c.mapping.map((r) => [
      String(r.cluster),
      String(r.size),
      r.label ?? "— (unmatched)",
      String(r.matched),
      r.size ? `${((100 * r.matched) / r.size).toFixed(1)} %` : "–",
    ]);
    const left = c.unlabelled > 0 ? `; the ${c.unlabelled} unlabelled rows are left out` : "";
    parts.push(
      `<p class="meta">Hungarian mapping (the one-to-one cluster → class assignment that maximises matched rows; ACC = ${fmt(c.accuracy)}${left}):</p>`,
    );
    parts.push(table(["cluster", "rows", "mapped class", "rows of that class", "purity"], rows, "mapping"));
  }

  if (d.topics) {
    parts.push(`<h2>Topics</h2>`);
    parts.push(chartDivs(charts, "topics"));
    const rows = d.topics.map((t) => [
      String(t.cluster),
      String(t.size),
      t.terms.map((w) => w.term).join(", ") || "–",
      t.examples[0] ? truncate(t.examples[0].text, 160) : "–",
      t.majority !== null ? `${t.majority} (${(100 * t.purity!).toFixed(1)} %)` : "–",
    ]);
    parts.push(
      `<p class="meta">Top terms by class-based TF-IDF over the data's text column (words and word pairs, English stop words left out); the most representative text is the cluster's most confident row.</p>`,
    );
    parts.push(
      table(["cluster", "rows", "top terms", "most representative text", "majority label (purity)"], rows, "topics"),
    );
  }

  if (d.chooseK) {
    parts.push(`<h2>Choosing k (-k auto)</h2>`);
    parts.push(...chooseKSection(d.chooseK, charts));
  }

  parts.push(`<h2>Training</h2>`);
  const training = chartDivs(charts, "training");
  parts.push(training || `<p class="note">No training record in metrics.json (e.g. an imported model).</p>`);

  return htmlPage({
    title: `deepclust report: ${d.title}`,
    version: m.deepclustVersion,
    body: parts,
    footer: `Generated ${escapeHtml(d.generatedAt)} by <code>deepclust report</code>. Charts: Vega-Lite, inlined; this file needs no network.`,
    charts,
  });
}

/**
 * A self-contained page: `body` (HTML), then the charts' specs as one JSON block, the inlined Vega
 * libraries and the script that renders every chart into its container (`chartDivs`). The body
 * gets data-rendered="<count>" when all rendered, or "error" (shown in #render-error).
 */
export function htmlPage(p: {
  title: string;
  version: string;
  body: string[];
  footer: string;
  charts: Chart[];
}): string {
  const chartJson = jsonForScript(p.charts.map((ch) => ({ id: ch.id, renderer: ch.renderer, spec: ch.spec })));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="deepclust ${escapeHtml(p.version)}">
<title>${escapeHtml(p.title)}</title>
<style>${STYLE}</style>
</head>
<body data-charts="${p.charts.length}">
${p.body.join("\n")}
<p class="meta">${p.footer}</p>
<script id="deepclust-charts" type="application/json">${chartJson}</script>
${vegaScripts()}
<script>
(function () {
  var charts = JSON.parse(document.getElementById("deepclust-charts").textContent);
  var shown = document.getElementById("render-error");
  Promise.all(charts.map(function (c) {
    return vegaEmbed(document.getElementById(c.id), c.spec, { mode: "vega-lite", renderer: c.renderer, actions: false });
  })).then(function (results) {
    window.deepclustViews = results.map(function (r) { return r.view; });
    document.body.setAttribute("data-rendered", String(results.length));
  }).catch(function (err) {
    shown.textContent = "A chart failed to render: " + (err && err.message ? err.message : err);
    shown.hidden = false;
    document.body.setAttribute("data-rendered", "error");
    console.error(err);
  });
})();
</script>
</body>
</html>
`;
}
