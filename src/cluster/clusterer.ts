// What every clustering estimator offers, scikit-learn style: hyperparameters in the constructor,
// `fit` learns (and returns the estimator), `predict` assigns new rows, `fitPredict` does both on
// the training rows. KMeans and DEC implement it, so code can take either.

import type { Matrix } from "../engine/matrix.js";

export interface Clusterer {
  /** The number of clusters. */
  readonly k: number;
  fit(X: Matrix): Promise<this>;
  /** The cluster of every row of X, in [0, k). */
  predict(X: Matrix): Promise<Int32Array>;
  /** fit(X), then the clusters of X's own rows. */
  fitPredict(X: Matrix): Promise<Int32Array>;
}
