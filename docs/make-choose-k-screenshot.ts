// Makes docs/choose-k-screenshot.png, the picture of a choose-k page in the README: the page down
// to the end of its chart, in headless Chromium (Debian's package).
//
//   node dist/cli/main.js choose-k test/fixtures/digits.csv --k 2..20 --out /tmp/choose-k.html --force
//   node --import tsx docs/make-choose-k-screenshot.ts /tmp/choose-k.html docs/choose-k-screenshot.png

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [input, output = "docs/choose-k-screenshot.png"] = process.argv.slice(2);
if (!input) throw new Error("usage: make-choose-k-screenshot.ts <choose-k.html> [out.png]");

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
  await page.goto(pathToFileURL(resolve(input)).href);
  await page.waitForSelector("body[data-rendered]");
  const rendered = await page.getAttribute("body", "data-rendered");
  if (rendered === "error") throw new Error(`the page's chart failed: ${await page.textContent("#render-error")}`);
  const chart = (await page.locator(".chart").last().boundingBox())!;
  await page.screenshot({
    path: output,
    fullPage: true,
    clip: { x: 0, y: 0, width: 1000, height: Math.ceil(chart.y + chart.height + 16) },
  });
  console.log(`wrote ${output} (${Math.round(statSync(output).size / 1024)} KB)`);
} finally {
  await browser.close();
}
