// Makes docs/report-screenshot.png, the picture of a report in docs/report.md: the page down to the end of
// the contingency matrix (the training curves follow below it), in headless Chromium (Debian's package).
//
//   node dist/cli/main.js train examples/reuters/train.csv -k 10 --method idec --out /tmp/reuters-model --force
//   node --import tsx docs/make-report-screenshot.ts /tmp/reuters-model/report.html docs/report-screenshot.png

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [input, output = "docs/report-screenshot.png"] = process.argv.slice(2);
if (!input) throw new Error("usage: make-report-screenshot.ts <report.html> [out.png]");

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
  await page.goto(pathToFileURL(resolve(input)).href);
  await page.waitForSelector("body[data-rendered]");
  const last = (await page.locator(".chart:not(#chart-pretrain):not(#chart-clustering)").last().boundingBox())!;
  await page.screenshot({
    path: output,
    fullPage: true,
    clip: { x: 0, y: 0, width: 1000, height: Math.ceil(last.y + last.height + 16) },
  });
  console.log(`wrote ${output} (${Math.round(statSync(output).size / 1024)} KB)`);
} finally {
  await browser.close();
}
