// What each cluster is about: its size, its top terms by c-TF-IDF (words and word pairs), its most
// representative texts (the highest confidence, max q, among its rows), its mean confidence, and
// with labels the majority class and its purity. Built a chunk of rows at a time, so a file of any
// length takes memory for its vocabulary and a few texts per cluster, not for its texts.

import { DEFAULTS } from "../config.js";
import { ClassTermCounts, type TermWeight } from "./class-tfidf.js";
import { TermExtractor, type TermOptions } from "./terms.js";

export type { TermWeight } from "./class-tfidf.js";

export interface TopicOptions extends TermOptions {
  /** Terms per cluster (default 10). */
  top?: number;
  /** Representative texts per cluster (default 3). */
  examples?: number;
}

export interface TopicExample {
  /** The row in the data (0-based). */
  row: number;
  text: string;
  confidence: number;
}

export interface ClusterTopic {
  cluster: number;
  size: number;
  terms: TermWeight[];
  examples: TopicExample[];
  /** Mean max q over the cluster's rows (null: an empty cluster). */
  meanConfidence: number | null;
  /** With labels: the most frequent label among the cluster's labelled rows (ties: the smaller), else null. */
  majority: string | number | null;
  /** The majority label's share of the cluster's labelled rows, else null. */
  purity: number | null;
}

/** Defined in config.ts. */
export const TOPIC_DEFAULTS = DEFAULTS.topics;

type Label = string | number;

/** Topics of clusters from rows added a chunk at a time. */
export class TopicsBuilder {
  private readonly extractor: TermExtractor;
  private readonly counts: ClassTermCounts;
  private readonly sizes: number[];
  private readonly confidenceSums: number[];
  private readonly best: TopicExample[][];
  private readonly labelCounts: Array<Map<Label, number>>;
  private readonly top: number;
  private readonly examples: number;

  constructor(
    readonly k: number,
    options: TopicOptions = {},
  ) {
    this.extractor = new TermExtractor(options);
    this.counts = new ClassTermCounts(k);
    this.top = options.top ?? TOPIC_DEFAULTS.top;
    this.examples = options.examples ?? TOPIC_DEFAULTS.examples;
    this.sizes = new Array<number>(k).fill(0);
    this.confidenceSums = new Array<number>(k).fill(0);
    this.best = Array.from({ length: k }, () => []);
    this.labelCounts = Array.from({ length: k }, () => new Map<Label, number>());
  }

  /**
   * Rows firstRow … of the data: their texts, clusters, confidences (max q) and, when known,
   * labels (null: a row without one).
   */
  add(
    texts: readonly string[],
    clusters: ArrayLike<number>,
    confidence: ArrayLike<number>,
    labels: ArrayLike<Label | null> | null = null,
    firstRow = 0,
  ): void {
    if (clusters.length !== texts.length || confidence.length !== texts.length)
      throw new RangeError(`${texts.length} texts, ${clusters.length} clusters, ${confidence.length} confidences`);
    for (let i = 0; i < texts.length; i++) {
      const c = clusters[i]!;
      const text = texts[i]!;
      this.counts.add(c, this.extractor.terms(text));
      this.sizes[c]!++;
      this.confidenceSums[c]! += confidence[i]!;
      this.keepExample(c, { row: firstRow + i, text, confidence: confidence[i]! });
      const label = labels?.[i];
      if (label !== null && label !== undefined) {
        const m = this.labelCounts[c]!;
        m.set(label, (m.get(label) ?? 0) + 1);
      }
    }
  }

  /** Distinct words and word pairs counted so far. */
  get vocabularySize(): number {
    return this.counts.vocabularySize;
  }

  topics(): ClusterTopic[] {
    const terms = this.counts.topTerms(this.top);
    return terms.map((t, c) => {
      const { majority, purity } = majorityOf(this.labelCounts[c]!);
      const size = this.sizes[c]!;
      return {
        cluster: c,
        size,
        terms: t,
        examples: this.best[c]!,
        meanConfidence: size > 0 ? this.confidenceSums[c]! / size : null,
        majority,
        purity,
      };
    });
  }

  /** Keeps the cluster's `examples` most confident distinct texts (ties: the earlier row). */
  private keepExample(c: number, e: TopicExample): void {
    const kept = this.best[c]!;
    if (this.examples === 0) return;
    if (kept.length === this.examples && e.confidence <= kept.at(-1)!.confidence) return;
    if (kept.some((k) => k.text === e.text)) return;
    let at = kept.length;
    while (at > 0 && kept[at - 1]!.confidence < e.confidence) at--;
    kept.splice(at, 0, e);
    if (kept.length > this.examples) kept.pop();
  }
}

function majorityOf(counts: Map<Label, number>): { majority: Label | null; purity: number | null } {
  let majority: Label | null = null;
  let best = 0;
  let total = 0;
  for (const [label, n] of counts) {
    total += n;
    if (n > best || (n === best && majority !== null && String(label) < String(majority))) {
      majority = label;
      best = n;
    }
  }
  return total === 0 ? { majority: null, purity: null } : { majority, purity: best / total };
}

/** The topics of in-memory rows: texts, their clusters (0 … k−1) and confidences, and optional labels. */
export function clusterTopics(
  k: number,
  texts: readonly string[],
  clusters: ArrayLike<number>,
  confidence: ArrayLike<number>,
  options: TopicOptions & { labels?: ArrayLike<Label | null> | null } = {},
): ClusterTopic[] {
  const builder = new TopicsBuilder(k, options);
  builder.add(texts, clusters, confidence, options.labels ?? null);
  return builder.topics();
}
