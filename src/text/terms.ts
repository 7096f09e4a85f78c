// Words and word pairs of a text, for cluster topics: the platform's Unicode word segmentation
// (Intl.Segmenter with the root locale's ICU rules, the same whatever the machine's locale),
// lower-cased, stop words (stopwords-iso) and bare numbers left out, then the pairs of neighbouring
// words that remain, as scikit-learn's CountVectorizer forms n-grams after removing stop words
// (what BERTopic's topic terms are counted from).

import { createRequire } from "node:module";
import { DEFAULTS } from "../config.js";

export interface TermOptions {
  /** Longest n-gram: 1 (words) or 2 (words and word pairs, the default). */
  ngrams?: 1 | 2;
  /** An ISO 639-1 language for stopwords-iso's list ("en", the default), or null: keep every word. */
  stopWords?: string | null;
  /** Shortest word kept, in characters (default 2, as CountVectorizer's token pattern). */
  minLength?: number;
}

const cache = new Map<string, ReadonlySet<string>>();

/** stopwords-iso's list for `language` (loaded on first use: the file holds every language). */
export function stopWordsOf(language: string): ReadonlySet<string> {
  let set = cache.get(language);
  if (!set) {
    const lists = createRequire(import.meta.url)("stopwords-iso") as Record<string, string[]>;
    const list = lists[language];
    if (!list)
      throw new RangeError(`no stop-word list for '${language}' (stopwords-iso has ${Object.keys(lists).join(", ")})`);
    set = new Set(list);
    cache.set(language, set);
  }
  return set;
}

/** Counts of words and word pairs of many texts, one text at a time. */
export class TermExtractor {
  private readonly segmenter = new Intl.Segmenter("und", { granularity: "word" });
  private readonly stop: ReadonlySet<string>;
  private readonly ngrams: 1 | 2;
  private readonly minLength: number;

  constructor(options: TermOptions = {}) {
    const language = options.stopWords === undefined ? DEFAULTS.topics.stopWords : options.stopWords;
    this.stop = language === null ? new Set() : stopWordsOf(language);
    this.ngrams = options.ngrams ?? DEFAULTS.topics.ngrams;
    this.minLength = options.minLength ?? DEFAULTS.topics.minLength;
  }

  /** The text's words (kept ones, in order), then its pairs of neighbouring kept words. */
  terms(text: string): string[] {
    const words: string[] = [];
    for (const s of this.segmenter.segment(text.toLowerCase())) {
      if (!s.isWordLike) continue;
      const w = s.segment;
      // Bare numbers (1987, 12.6) name no topic; words with digits in them (g7, 3m) stay.
      if (w.length < this.minLength || this.stop.has(w) || /^[\d.,]+$/.test(w)) continue;
      words.push(w);
    }
    if (this.ngrams === 1) return words;
    const out = words.slice();
    for (let i = 1; i < words.length; i++) out.push(`${words[i - 1]} ${words[i]}`);
    return out;
  }
}
