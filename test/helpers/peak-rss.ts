// Preloaded (node --import) into a child process whose memory a test bounds: at exit, it writes
// the process's peak resident set size in KiB to the file named by DEEPCLUST_PEAK_RSS_FILE. A
// process killed for memory writes nothing, which the test reads as a failure.

import { writeFileSync } from "node:fs";

const out = process.env.DEEPCLUST_PEAK_RSS_FILE;
if (out) process.on("exit", () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
