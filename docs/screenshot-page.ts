// Shared by the docs' screenshot scripts: a self-contained deepclust page rendered in headless
// Chromium (Debian's package), every network request refused, photographed from the top down to
// the bottom edge that `until` measures.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";

export async function screenshotPage(
  input: string,
  output: string,
  until: (page: Page) => Promise<{ y: number; height: number }>,
): Promise<void> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(resolve(input)).href);
    await page.waitForSelector("body[data-rendered]");
    if ((await page.getAttribute("body", "data-rendered")) === "error")
      throw new Error(`a chart failed to render: ${await page.textContent("#render-error")}`);
    const last = await until(page);
    await page.screenshot({
      path: output,
      fullPage: true,
      clip: { x: 0, y: 0, width: 1000, height: Math.ceil(last.y + last.height + 16) },
    });
    console.log(`wrote ${output} (${Math.round(statSync(output).size / 1024)} KB)`);
  } finally {
    await browser.close();
  }
}
