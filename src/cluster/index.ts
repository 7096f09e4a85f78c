export type { Clusterer } from "./clusterer.js";
export { KMeans, KMEANS_DEFAULTS, kmeans, kmeansPlusPlus, type KMeansOptions, type KMeansResult } from "./kmeans.js";
export {
  clusterSizes,
  clusteringAccuracy,
  nmi,
  ari,
  contingencyMatrix,
  evaluateClustering,
  labelledSubset,
  type Labels,
  type PartialLabels,
  type Label,
  type AccuracyResult,
  type ContingencyMatrix,
  type ClusteringScores,
} from "./metrics.js";
export { gaussianMixture, type GaussianMixtureOptions, type GaussianMixtureResult } from "./gmm.js";
export {
  umapEmbedding,
  manifoldClusters,
  mixtureClusters,
  clusterMeans,
  MANIFOLD_DEFAULTS,
  type UmapOptions,
  type ManifoldClusters,
} from "./manifold.js";
export { exactKnn, type KnnResult } from "./knn.js";
export {
  silhouetteSamples,
  silhouetteScore,
  calinskiHarabaszScore,
  daviesBouldinScore,
  internalScores,
  OUTLIER_CLUSTER,
  type SilhouetteOptions,
  type InternalScores,
} from "./internal-scores.js";
export { linearSumAssignment, type Assignment } from "./hungarian.js";
export {
  chooseK,
  checkCandidates,
  kRange,
  recommendK,
  gapChoice,
  stabilityChoice,
  kneedle,
  voteK,
  CRITERIA,
  CRITERION_RULES,
  RECOMMENDATION_RULE,
  computedCriteria,
  type ChooseKOptions,
  type ChooseKResult,
  type CriterionName,
  type CriterionResult,
} from "./choose-k.js";
export { nearestCentres } from "./nearest-centres.js";
export { symmetricEigen, type SymmetricEigen } from "./symmetric-eigen.js";
export { labelingStability, type LabelingStability } from "./labeling-stability.js";
