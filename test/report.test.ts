// The HTML report: the data it shows (unit tests on a small model trained on the digits), the
// escaping of user text, and the page itself in headless Chromium (every chart rendered, no console
// error, no request leaving file://, a screenshot in test-output/). Chromium is Debian's package
// (`apt-get install chromium`; .ci/run installs it): without it the browser tests FAIL, on purpose.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { loadModel } from "../src/dec/model-dir.js";
import { readDataset } from "../src/io/dataset.js";
import { clusteringAccuracy } from "../src/cluster/metrics.js";
import {
  assembleReport,
  contingencyReport,
  escapeHtml,
  jsonForScript,
  pca2d,
  readTrainingMetrics,
  renderReportHtml,
  reportCharts,
  subsampleIndices,
} from "../src/report/index.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const outputDir = new URL("../test-output/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-report-"));
const SMALL = ["--dims", "64,10", "--pretrain-epochs", "5", "--max-iter", "50", "--threads", "1"];
/** Where Debian (and Ubuntu's deb) put Chromium; CHROMIUM_PATH overrides. */
const CHROMIUM_CANDIDATES = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];
/** The page's charts with labelled data, in page order: sizes, map, confidence, contingency, pretraining, clustering phase. */
const ALL_CHARTS = [
  "chart-sizes",
  "chart-map",
  "chart-confidence",
  "chart-contingency",
  "chart-pretrain",
  "chart-clustering",
];
/** The same with a text column in the data: each cluster's top terms after the contingency. */
const TEXT_CHARTS = [...ALL_CHARTS.slice(0, 4), "chart-topics", ...ALL_CHARTS.slice(4)];

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// One small model, trained by the CLI: `train` writes model/report.html from the training data.
const model = join(dir, "model");
const trained = run("train", digits, "-k", "10", ...SMALL, "--out", model);

// The digits with hostile text: a `text` and an `id` column and string labels that try to close the
// script element, open tags and run code. The report must show them as text and run none of it.
const HOSTILE = `</script><script>window.__injected = 1</script><img src=x onerror="window.__injected = 2"><!-- & 'quoted' "double" \u2028`;
const hostile = join(dir, "hostile.csv");
{
  const lines = readFileSync(digits, "utf8").trim().split("\n").slice(0, 401);
  const csv = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const rows = lines.slice(1).map((line, i) => {
    const m = /^(\d+),("\[[^\]]*\]"),(\d+)$/.exec(line)!;
    return [csv(`id-${m[1]}</script>`), csv(`row ${i}: ${HOSTILE}`), m[2], csv(`</script><b>${m[3]}</b>`)].join(",");
  });
  writeFileSync(hostile, ["id,text,embeddings,labels", ...rows].join("\n") + "\n");
}

test("train writes report.html next to the model; report --data writes one self-contained file", () => {
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(
    trained.stdout,
    /wrote .*model\/ \(config\.json, model\.safetensors, model\.onnx, metrics\.json, report\.html\)/,
  );
  const html = readFileSync(join(model, "report.html"), "utf8");
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=/i, "no external script or stylesheet");
  // The versions inlined are the ones installed (package.json pins them exactly).
  const { dependencies } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    dependencies: Record<string, string>;
  };
  for (const name of ["vega", "vega-lite", "vega-embed"])
    assert.ok(html.includes(`data-library="${name}@${dependencies[name]}"`), name);

  const out = join(dir, "hostile.html");
  const r = run("report", model, "--data", hostile, "--out", out, "--threads", "1", "--json");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { charts: string[]; map: { method: string; shown: number; rows: number } };
  assert.deepEqual(s.charts, TEXT_CHARTS);
  assert.deepEqual(s.map, { method: "umap", shown: 400, rows: 400 });
});

test("user text cannot close the script element or open a tag", () => {
  const html = readFileSync(join(dir, "hostile.html"), "utf8");
  assert.ok(!html.includes("window.__injected = 1</script>"), "a text value closed a script element");
  assert.ok(!html.includes("<img src=x onerror"), "a text value opened a tag");
  assert.ok(!html.includes("<b>"), "a label opened a tag");
  // Every "</script" closes one of the page's own five script elements.
  assert.equal(html.match(/<\/script/gi)!.length, 5);
  assert.equal(html.match(/<script[\s>]/gi)!.length, 5);
  assert.ok(html.includes("&lt;/script&gt;&lt;b&gt;3&lt;/b&gt;"), "labels in the mapping table are escaped text");

  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  const value = { text: HOSTILE, list: ["</SCRIPT >", "a\u2029b"] };
  const json = jsonForScript(value);
  assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(json), value, "the escapes read back unchanged");
});

test("report without --data shows the training record only; bad input exits 2 and writes nothing", () => {
  const out = join(dir, "no-data.html");
  const r = run("report", model, "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).charts, ["chart-sizes", "chart-pretrain", "chart-clustering"]);
  const wide = join(dir, "dim3.csv");
  writeFileSync(wide, 'id,embeddings\n1,"[1,2,3]"\n');
  const cases: Array<[string[], RegExp]> = [
    [["report", join(dir, "no-model")], /no-model: model directory not found/],
    [
      ["report", model, "--data", wide],
      /dim3\.csv, row 1, column 'embeddings': 3 dimensions, but the model expects 64/,
    ],
    [
      ["report", model, "--out", join(dir, "missing-dir", "r.html")],
      /missing-dir\/r\.html: cannot write: the directory does not exist/,
    ],
    [["report", model, "--map", "tsne"], /--map must be one of umap, pca/],
  ];
  for (const [args, message] of cases) {
    const target = join(dir, "bad-report.html");
    const r = run(...args, ...(args.includes("--out") ? [] : ["--out", target]));
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(existsSync(target), false);
  }
});

test("the contingency table and its Hungarian mapping are the ones behind the training metrics", async () => {
  const metrics = readTrainingMetrics(model)!;
  const m = loadModel(model, { threads: 1 });
  const ds = await readDataset(digits);
  try {
    const d = await assembleReport(m, metrics, { dataset: ds, map: "pca" });
    const final = metrics.metrics as { acc: number };
    const c = d.contingency!;
    assert.equal(c.accuracy, final.acc, "ACC of the mapping = metrics.json's final ACC");
    assert.deepEqual(d.sizes, { source: "data", counts: metrics.clusterSizes });
    const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as {
      labelMapping: Record<string, number>;
    };
    for (const row of c.mapping)
      if (row.label !== null)
        assert.equal(row.label, String(config.labelMapping[String(row.cluster)]), `cluster ${row.cluster}`);
    const matched = c.mapping.reduce((s, r) => s + r.matched, 0);
    assert.equal(matched / ds.X.rows, c.accuracy);
    assert.equal(c.cells.length, c.classes.length * 10, "every class × every cluster, empty ones too");
    assert.equal(
      c.cells.reduce((s, x) => s + x.count, 0),
      1797,
    );
    assert.deepEqual(
      c.cells
        .filter((x) => x.mapped)
        .map((x) => x.count)
        .sort(),
      c.mapping
        .filter((r) => r.label !== null)
        .map((r) => r.matched)
        .sort(),
    );
    // The table as the training run saw it.
    assert.deepEqual(
      d.scores.map((s) => s.name),
      ["k-means (raw data)", "AE + UMAP + GMM", "DEC"],
    );
    // The internal scores of the training run; the data is the training file, so no second row.
    assert.deepEqual(d.internal, [{ name: "DEC", rows: 1797, ...(metrics.internalScores as object) }]);
    // Another file (here a copy of the same rows): its row is computed from the code, the same values.
    const copy = join(dir, "digits-copy.csv");
    writeFileSync(copy, readFileSync(digits));
    const other = await assembleReport(m, metrics, { dataset: await readDataset(copy), map: "pca" });
    assert.deepEqual(
      other.internal.map((s) => s.name),
      ["DEC", "DEC on digits-copy.csv"],
    );
    assert.deepEqual(other.internal[1], { ...other.internal[0], name: "DEC on digits-copy.csv" });
    const html = renderReportHtml(other, reportCharts(other));
    assert.match(html, /Calinski–Harabasz/);
    assert.match(html, /Internal scores \(no labels needed\), in the model's code space/);
    assert.equal(d.pretrain.length, 5);
    assert.equal(d.updates.length, (metrics.history as unknown[]).length);
    assert.ok(d.updates.every((u) => u.nonEmpty >= 1 && u.nonEmpty <= 10));
    assert.deepEqual(
      reportCharts(d).map((ch) => ch.id),
      ALL_CHARTS,
    );
  } finally {
    await m.release();
  }
});

test("contingencyReport: empty clusters, more clusters than classes, string labels", () => {
  const truth = ["a", "a", "b", "b", "b", "c"];
  const pred = Int32Array.from([3, 3, 0, 0, 1, 0]); // cluster 2 empty, cluster 1 unmatched
  const c = contingencyReport(truth, pred, 4);
  const { accuracy, mapping } = clusteringAccuracy(truth, pred);
  assert.equal(c.accuracy, accuracy);
  assert.deepEqual(c.classes, ["a", "b", "c"]);
  for (const row of c.mapping)
    assert.equal(row.label, mapping.has(row.cluster) ? String(mapping.get(row.cluster)) : null);
  assert.deepEqual(
    c.mapping.map((r) => [r.cluster, r.size]),
    [
      [0, 3],
      [1, 1],
      [2, 0],
      [3, 2],
    ],
  );
  assert.deepEqual(c.columns.slice(0, 2), ["3 → a", "0 → b"]);
  assert.equal(c.cells.length, 12);
});

test("the map's subsample and layout are deterministic for a seed", async () => {
  const a = subsampleIndices(10_000, 500, 7);
  assert.deepEqual(a, subsampleIndices(10_000, 500, 7));
  assert.notDeepEqual(a, subsampleIndices(10_000, 500, 8));
  assert.equal(new Set(a).size, 500);
  assert.ok(
    a.every((v, i) => v < 10_000 && (i === 0 || v > a[i - 1]!)),
    "ascending, in range",
  );
  assert.deepEqual(Array.from(subsampleIndices(5, 500, 7)), [0, 1, 2, 3, 4]);

  const m = loadModel(model, { threads: 1 });
  const ds = await readDataset(digits);
  try {
    const opts = { dataset: ds, maxPoints: 300 };
    const [x, y] = [await assembleReport(m, null, opts), await assembleReport(m, null, opts)];
    assert.equal(x.map!.shown, 300);
    assert.equal(x.map!.method, "umap");
    assert.deepEqual(x.map!.points, y.map!.points);
    const z = await assembleReport(m, null, { ...opts, seed: 1 });
    assert.notDeepEqual(
      z.map!.points.map((p) => p.id),
      x.map!.points.map((p) => p.id),
    );
    assert.ok(
      x.map!.points.every(
        (p) => p.id !== undefined && p.label !== undefined && Number.isFinite(p.x) && Number.isFinite(p.y),
      ),
    );
  } finally {
    await m.release();
  }
});

test("pca2d: the leading components, with a fixed sign", () => {
  // Points on a line y = 2x (plus a small orthogonal wobble): PC 1 is along the line.
  const rows = 50;
  const data = new Float32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    const t = i - 25;
    const w = i % 2 ? 0.1 : -0.1;
    data[2 * i] = t - 2 * w;
    data[2 * i + 1] = 2 * t + w;
  }
  const xy = pca2d({ data, rows, cols: 2 });
  // PC 1 = (1, 2)/√5 and PC 2 ≈ (2, −1)/√5 (signs: the largest entry positive); the mean t is −0.5.
  for (let i = 0; i < rows; i++) {
    assert.ok(Math.abs(xy[2 * i]! - (i - 24.5) * Math.sqrt(5)) < 1e-3, `row ${i}: ${xy[2 * i]}`);
    assert.ok(Math.abs(xy[2 * i + 1]! - (i % 2 ? -0.1 : 0.1) * Math.sqrt(5)) < 0.02, `row ${i}: ${xy[2 * i + 1]}`); // w and t correlate a little
  }
  assert.deepEqual(pca2d({ data, rows, cols: 2 }), xy);
});

// ---- in the browser ----

function chromiumPath(): string {
  const found = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    assert.fail(
      `Chromium not found (looked at ${CHROMIUM_CANDIDATES.join(", ")}): the report's browser tests need it. Install it with \`apt-get install -y --no-install-recommends chromium\` (.ci/run does), or set CHROMIUM_PATH.`,
    );
  }
  return found;
}

// Browser-side code is written as strings: it runs in the page (DOM types, which the Node-typed
// tests do not have) and must not go through the TypeScript transform.

/** Each chart container: its SVG marks or its canvas's painted (non-white) pixels. */
const CHART_STATES = `Array.from(document.querySelectorAll("div.chart"), (el) => {
  const svg = el.querySelector("svg");
  const canvas = el.querySelector("canvas");
  let painted = 0;
  if (canvas && canvas.width > 0 && canvas.height > 0) {
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 235 || px[i + 1] < 235 || px[i + 2] < 235)) painted++;
  }
  // Vega draws each mark's items (bars, lines, symbols, cells, labels) inside a g.role-mark group.
  const marks = svg ? svg.querySelectorAll("g.role-mark > path, g.role-mark > text, g.role-mark > g").length : 0;
  return { id: el.id, svg: svg !== null, canvas: canvas !== null, marks, painted };
})`;

/**
 * Where the map's first point is on the screen: the canvas's box, its padding, the plot's origin,
 * then the point on the view's scales (window.deepclustViews: the vega views, in chart order).
 */
const FIRST_MAP_POINT = `(() => {
  const charts = JSON.parse(document.getElementById("deepclust-charts").textContent);
  const i = charts.findIndex((c) => c.id === "chart-map");
  const view = window.deepclustViews[i];
  const p = charts[i].spec.data.values[0];
  const box = document.querySelector("#chart-map canvas").getBoundingClientRect();
  const [ox, oy] = view.origin();
  const pad = view.padding();
  return { x: box.left + pad.left + ox + view.scale("x")(p.x), y: box.top + pad.top + oy + view.scale("y")(p.y) };
})()`;

interface ChartState {
  id: string;
  svg: boolean;
  canvas: boolean;
  marks: number;
  painted: number;
}

/** Opens `file` in headless Chromium with every non-file request failed; runs `check` on the rendered page. */
async function inBrowser(
  file: string,
  screenshot: string,
  check: (page: Page, charts: ChartState[]) => Promise<void>,
): Promise<void> {
  const browser = await chromium.launch({ executablePath: chromiumPath() });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warning") problems.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.route("**/*", async (route) => {
      const url = route.request().url();
      if (url.startsWith("file:")) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-rendered]", { timeout: 60_000 });
    const rendered = await page.getAttribute("body", "data-rendered");
    const charts = (await page.evaluate(CHART_STATES)) as ChartState[];
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: join(outputDir, screenshot), fullPage: true });
    assert.deepEqual(problems, [], "no console error or warning, no page error");
    assert.equal(rendered, String(charts.length), `vega-embed finished every chart (data-rendered=${rendered})`);
    for (const c of charts) {
      if (c.svg) assert.ok(c.marks > 0, `${c.id}: the SVG has marks`);
      else assert.ok(c.canvas && c.painted > 500, `${c.id}: the canvas is painted (${c.painted} pixels)`);
    }
    await check(page, charts);
    assert.deepEqual(requests, [], "no request outside file://");
  } finally {
    await browser.close();
  }
}

test("browser: train's report renders every chart offline", async () => {
  await inBrowser(join(model, "report.html"), "report-digits.png", async (_page, charts) => {
    assert.deepEqual(
      charts.map((c) => c.id),
      ALL_CHARTS,
    );
    assert.deepEqual(
      charts.map((c) => (c.svg ? "svg" : "canvas")),
      ["svg", "canvas", "svg", "svg", "svg", "svg"],
    );
  });
});

test("browser: hostile text stays text, in the page and in the map's tooltip", async () => {
  await inBrowser(join(dir, "hostile.html"), "report-hostile.png", async (page, charts) => {
    assert.deepEqual(
      charts.map((c) => c.id),
      TEXT_CHARTS,
    );
    assert.equal(await page.evaluate("window.__injected"), undefined, "no injected code ran");
    assert.equal(await page.evaluate(`document.querySelectorAll("script").length`), 5);
    assert.equal(await page.evaluate(`document.querySelectorAll("img, b").length`), 0);
    const mappingText = (await page.locator(".mapping").textContent())!;
    assert.ok(mappingText.includes("</script><b>"), "labels shown as text in the mapping table");

    // Hover the first point of the map (canvas): the tooltip shows its text, as text.
    await page.locator("#chart-map canvas").scrollIntoViewIfNeeded();
    const target = (await page.evaluate(FIRST_MAP_POINT)) as { x: number; y: number };
    await page.mouse.move(target.x - 8, target.y - 8);
    await page.mouse.move(target.x, target.y, { steps: 4 });
    const tooltip = await page.waitForSelector("#vg-tooltip-element.visible", { timeout: 10_000 });
    const text = (await tooltip.textContent())!;
    assert.ok(
      text.includes("window.__injected = 1</script><img src=x"),
      `the tooltip shows the text: ${text.slice(0, 200)}`,
    );
    assert.equal(await page.locator("#vg-tooltip-element img, #vg-tooltip-element script").count(), 0);
    assert.equal(await page.evaluate("window.__injected"), undefined);
  });
});
