// Makes docs/choose-k-screenshot.png, the picture of a choose-k page in the README: the page down
// to the end of its chart, in headless Chromium (Debian's package).
//
//   node dist/cli/main.js choose-k test/fixtures/digits.csv --k 2..20 --out /tmp/choose-k.html --force
//   node --import tsx docs/make-choose-k-screenshot.ts /tmp/choose-k.html docs/choose-k-screenshot.png

import { screenshotPage } from "./screenshot-page.js";

const [input, output = "docs/choose-k-screenshot.png"] = process.argv.slice(2);
if (!input) throw new Error("usage: make-choose-k-screenshot.ts <choose-k.html> [out.png]");

await screenshotPage(input, output, async (page) => (await page.locator(".chart").last().boundingBox())!);
