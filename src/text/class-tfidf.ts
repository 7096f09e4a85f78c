// Class-based TF-IDF (c-TF-IDF, Grootendorst 2022, as BERTopic's ClassTfidfTransformer computes it):
// every cluster's texts are one document; a term's weight in cluster c is its frequency there
// (count / the cluster's term total) times log(1 + A / f_t), with A the mean number of terms per
// cluster (truncated to an integer, as BERTopic does) and f_t the term's count over all clusters.
// Terms common to every cluster weigh little; terms concentrated in one weigh most.

export interface TermWeight {
  term: string;
  weight: number;
}

/** Term counts per cluster, added a text at a time; memory grows with the distinct terms, not the texts. */
export class ClassTermCounts {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** Per cluster: term id → count. */
  private readonly counts: Array<Map<number, number>>;
  private totals: number[] = [];

  constructor(readonly k: number) {
    this.counts = Array.from({ length: k }, () => new Map<number, number>());
  }

  add(cluster: number, terms: readonly string[]): void {
    if (!(Number.isInteger(cluster) && cluster >= 0 && cluster < this.k))
      throw new RangeError(`cluster ${cluster} is not in 0..${this.k - 1}`);
    const counts = this.counts[cluster]!;
    for (const t of terms) {
      let id = this.ids.get(t);
      if (id === undefined) {
        id = this.names.length;
        this.ids.set(t, id);
        this.names.push(t);
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    this.totals[cluster] = (this.totals[cluster] ?? 0) + terms.length;
  }

  /** The distinct terms seen. */
  get vocabularySize(): number {
    return this.names.length;
  }

  /**
   * The `top` terms of every cluster by c-TF-IDF weight (ties: the term first seen first). A cluster
   * with no terms gets none.
   */
  topTerms(top: number): TermWeight[][] {
    const f = new Float64Array(this.names.length);
    for (const counts of this.counts) for (const [id, n] of counts) f[id]! += n;
    let all = 0;
    for (let c = 0; c < this.k; c++) all += this.totals[c] ?? 0;
    const A = Math.trunc(all / this.k);
    return this.counts.map((counts, c) => {
      const total = this.totals[c] ?? 0;
      const scored: Array<{ id: number; weight: number }> = [];
      for (const [id, n] of counts) scored.push({ id, weight: (n / total) * Math.log(1 + A / f[id]!) });
      scored.sort((a, b) => b.weight - a.weight || a.id - b.id);
      return scored.slice(0, top).map(({ id, weight }) => ({ term: this.names[id]!, weight }));
    });
  }
}
