export { KMeans, kmeans, kmeansPlusPlus, type KMeansOptions, type KMeansResult } from "./kmeans.js";
export { clusteringAccuracy, nmi, ari, contingencyMatrix, evaluateClustering, labelledSubset, type Labels, type PartialLabels, type Label, type AccuracyResult, type ContingencyMatrix, type ClusteringScores } from "./metrics.js";
export { linearSumAssignment, type Assignment } from "./hungarian.js";
