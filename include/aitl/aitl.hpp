#pragma once
/// @file aitl.hpp
/// @brief Umbrella header: every public aitl header except the opt-in `retrieval/hnsw.hpp`.
///
/// `retrieval/hnsw.hpp` is the one header that includes hnswlib; hnswlib 0.6.2 defines
/// non-inline functions, so include it yourself in exactly one translation unit per binary.

#include "concepts.hpp"
#include "config.hpp"
#include "error.hpp"
#include "fwd.hpp"
#include "types.hpp"
#include "version.hpp"

#include "pipeline.hpp"
#include "pipeline_config.hpp"

#include "kb/knowledge_base.hpp"
#include "kb/queries.hpp"
#include "text/analyzer.hpp"
#include "text/escape.hpp"
#include "text/ngram.hpp"
#include "text/stemmer.hpp"
#include "text/stopwords.hpp"
#include "text/tokenizer.hpp"

#include "retrieval/any_retriever.hpp"
#include "retrieval/bm25.hpp"
#include "retrieval/callback_encoder.hpp"
#include "retrieval/dense.hpp"
#include "retrieval/exact.hpp"
#include "retrieval/hashed_encoder.hpp"
#include "retrieval/hybrid.hpp"
#include "retrieval/knn.hpp"

#include "eval/metrics.hpp"
#include "eval/qrels.hpp"
#include "eval/significance.hpp"
#include "eval/trec.hpp"

#include "flywheel/gaps.hpp"
#include "flywheel/gaps_types.hpp"
#include "flywheel/gate.hpp"
#include "flywheel/index_lifecycle.hpp"
#include "flywheel/index_lifecycle_config.hpp"
#include "flywheel/registry.hpp"
#include "flywheel/registry_types.hpp"
#include "flywheel/scheduler.hpp"

#include "generate/best_of_n.hpp"
#include "generate/callback_generator.hpp"
#include "generate/extractive.hpp"
#include "generate/extractive_config.hpp"
#include "generate/reference.hpp"
#include "generate/sentences.hpp"

#include "learn/compile.hpp"
#include "learn/encoder_trainer.hpp"
#include "learn/examples.hpp"
#include "learn/training.hpp"

#include "rerank/feature_ranker.hpp"
#include "rerank/features.hpp"

#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_types.hpp"
