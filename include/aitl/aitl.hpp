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

#include "kb/knowledge_base.hpp"
#include "text/analyzer.hpp"
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
#include "eval/trec.hpp"

#include "learn/compile.hpp"
#include "learn/encoder_trainer.hpp"
#include "learn/examples.hpp"
#include "learn/training.hpp"

#include "rerank/feature_ranker.hpp"
#include "rerank/features.hpp"

#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_types.hpp"
