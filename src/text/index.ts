// Texts: the terms of a text, class-based TF-IDF, and the topics of clusters.
export { TermExtractor, stopWordsOf, type TermOptions } from "./terms.js";
export { ClassTermCounts, type TermWeight } from "./class-tfidf.js";
export {
  TopicsBuilder,
  clusterTopics,
  TOPIC_DEFAULTS,
  type ClusterTopic,
  type TopicExample,
  type TopicOptions,
} from "./topics.js";
export {
  SentenceEncoder,
  POOLINGS,
  EMBEDDING_MODEL_FILES,
  type Pooling,
  type SentenceEncoderOptions,
  type EmbeddingModelInfo,
} from "./sentence-encoder.js";
