// Makes docs/report-screenshot.png, the picture of a report in docs/report.md: the page down to the end of
// the contingency matrix (the training curves follow below it), in headless Chromium (Debian's package).
//
//   node dist/cli/main.js train examples/reuters/train.csv -k 10 --method idec --out /tmp/reuters-model --force
//   node --import tsx docs/make-report-screenshot.ts /tmp/reuters-model/report.html docs/report-screenshot.png

import { screenshotPage } from "./screenshot-page.js";

const [input, output = "docs/report-screenshot.png"] = process.argv.slice(2);
if (!input) throw new Error("usage: make-report-screenshot.ts <report.html> [out.png]");

await screenshotPage(
  input,
  output,
  async (page) => (await page.locator(".chart:not(#chart-pretrain):not(#chart-clustering)").last().boundingBox())!,
);
