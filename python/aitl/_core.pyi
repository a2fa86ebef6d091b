"""
aitl: Agent-in-the-Loop data flywheel (C++ core)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import os
import typing
__all__: list[str] = ['Adoption', 'AitlError', 'Analyzer', 'Annotation', 'BM25', 'CallbackEncoder', 'CallbackGenerator', 'Candidate', 'ConfigError', 'ContrastiveExample', 'DenseRetriever', 'DimensionError', 'Document', 'EncoderTrainer', 'Evaluation', 'ExactIndex', 'ExtractiveGenerator', 'FeatureRanker', 'FeedbackQrels', 'FilteredRetriever', 'FusedRetriever', 'GapReport', 'GateConfig', 'GateDecision', 'GeneratedReply', 'HashedEncoder', 'Hit', 'HnswIndex', 'HybridRetriever', 'Impression', 'IoError', 'KnowledgeBase', 'KnowledgeRelevance', 'KtoExample', 'MissingKnowledge', 'ModelRegistry', 'NotFoundError', 'ParseError', 'Pipeline', 'Preference', 'PreferenceData', 'PreferencePair', 'RankingList', 'Reference', 'RelevanceLabel', 'Reply', 'RerankList', 'RerankedRetriever', 'RetrievalExample', 'RewardModel', 'RewardSelectedGenerator', 'ScheduleDecision', 'Scheduler', 'SchedulerConfig', 'SchedulerState', 'ServingIndex', 'SqliteStore', 'StateError', 'StoreStats', 'citation_markers', 'compile_preferences', 'compile_qrels', 'compile_rerank', 'compile_retrieval', 'default_metrics', 'english_stopwords', 'escape_html', 'escape_markdown', 'evaluate', 'format_citation', 'fuse_rrf', 'gap_report', 'gate', 'json_max_depth', 'make_references', 'mine_negatives', 'paired_test', 'parse_json', 'read_qrels', 'read_queries', 'read_trec_run', 'reward_references', 'sign_test', 'split_sentences', 'strip_citations', 'time_split', 'tokenize', 'train_encoder', 'write_qrels', 'write_trec_run']
class AitlError(RuntimeError):
    """
    Root of every error aitl raises.
    """
class ConfigError(AitlError, ValueError):
    """
    An argument or setting is out of its valid range.
    """
class DimensionError(AitlError, ValueError):
    """
    A vector has the wrong dimension or holds NaN/inf.
    """
class ParseError(AitlError, ValueError):
    """
    Malformed input data (message names file, line, field).
    """
class NotFoundError(AitlError, KeyError):
    """
    An id is not known.
    """
class IoError(AitlError, OSError):
    """
    A file could not be opened, read or written.
    """
class StateError(AitlError):
    """
    The operation is not valid in the object's current state.
    """
class Analyzer:
    """
    Text analysis: tokenize -> lower case -> drop English stop words -> Snowball stem.
    """
    def __init__(self, lowercase: bool = True, stopwords: bool = True, stem: bool = True, language: str = 'english') -> None:
        """
        Raises ConfigError for an unknown stemmer language, or stop words with a language other than English.
        """
    def __repr__(self) -> str:
        ...
    def tokens(self, text: str) -> list[str]:
        """
        The index terms of `text`, in order (repeats kept).
        """
    @property
    def config(self) -> typing.Any:
        """
        The settings as a dict.
        """
class HashedEncoder:
    """
    Text -> unit vector without weights: hashed word n-grams and character n-grams projected by a trainable buckets x dim matrix (random with orthonormal columns at start, deterministic for the seed).
    """
    @staticmethod
    def load(path: typing.Any) -> HashedEncoder:
        """
        Reads a file written by save(). Raises IoError, or ParseError for a corrupt file.
        """
    def __call__(self, texts: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def __init__(self, dim: typing.SupportsInt | typing.SupportsIndex = 256, seed: typing.SupportsInt | typing.SupportsIndex = 0, buckets: typing.SupportsInt | typing.SupportsIndex = 32768, word_ngram_max: typing.SupportsInt | typing.SupportsIndex = 2, char_ngram_min: typing.SupportsInt | typing.SupportsIndex = 3, char_ngram_max: typing.SupportsInt | typing.SupportsIndex = 5, lowercase: bool = True, stopwords: bool = True, stem: bool = False, language: str = 'english') -> None:
        """
        Raises ConfigError for invalid settings (e.g. dim > buckets).
        """
    def __repr__(self) -> str:
        ...
    def encode(self, texts: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
        """
        float32 array (len(texts), dim) of L2-normalised rows; empty texts give zero rows.
        """
    def features(self, text: str) -> tuple[numpy.typing.NDArray[numpy.uint32], numpy.typing.NDArray[numpy.float32]]:
        """
        The L2-normalised sparse n-gram features before projection: (indices uint32, values float32).
        """
    def save(self, path: typing.Any) -> None:
        """
        Writes settings and projection to one file. Raises IoError.
        """
    def set_projection(self, projection: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        """
        Replaces the projection. Raises DimensionError for a shape other than (buckets, dim) or NaN/inf.
        """
    @property
    def config(self) -> typing.Any:
        """
        The settings as a dict.
        """
    @property
    def dim(self) -> int:
        """
        Output dimension.
        """
    @property
    def projection(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A copy of the buckets x dim projection (float32); change it with set_projection().
        """
class Document:
    """
    One knowledge-base document: id, title, text, metadata (a dict) and version.
    """
    __hash__: typing.ClassVar[None] = None
    id: str
    text: str
    title: str
    def __eq__(self, arg0: Document) -> bool:
        ...
    def __getstate__(self) -> tuple[str, str, str, typing.Any, int]:
        ...
    def __init__(self, id: str, title: str = '', text: str = '', metadata: typing.Any = None, version: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def indexed_text(self) -> str:
        """
        Title and text joined by a newline (what retrievers index).
        """
    @property
    def metadata(self) -> typing.Any:
        """
        Free-form metadata (a copy; assign a new dict to change it).
        """
    @metadata.setter
    def metadata(self, arg1: typing.Any) -> None:
        ...
    @property
    def version(self) -> int:
        ...
    @version.setter
    def version(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Hit:
    """
    One search result: a document id and its score (higher is better).
    """
    __hash__: typing.ClassVar[None] = None
    id: str
    def __eq__(self, arg0: Hit) -> bool:
        ...
    def __getstate__(self) -> tuple[str, float]:
        ...
    def __init__(self, id: str, score: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    def __iter__(self) -> collections.abc.Iterator:
        """
        Unpacks as (id, score).
        """
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    @property
    def score(self) -> float:
        ...
    @score.setter
    def score(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class KnowledgeBase:
    """
    Documents keyed by unique id, iterated in insertion order; BEIR and JSONL loaders.
    """
    @staticmethod
    def load_beir(path: typing.Any) -> KnowledgeBase:
        """
        Loads a BEIR corpus (corpus.jsonl, or a folder holding it): _id, title, text; other keys go to metadata. Raises IoError (missing file), ParseError (.file, .line, .field) for a malformed line or a duplicate id, ConfigError for a corpus without documents.
        """
    @staticmethod
    def load_jsonl(path: typing.Any) -> KnowledgeBase:
        """
        Loads aitl's JSONL (id, title, text, metadata, version); errors as load_beir.
        """
    def __contains__(self, arg0: str) -> bool:
        ...
    def __getitem__(self, arg0: str) -> Document:
        ...
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, documents: collections.abc.Iterable) -> None:
        """
        A knowledge base holding these Documents (ConfigError on duplicate ids).
        """
    def __iter__(self) -> collections.abc.Iterator[Document]:
        """
        Documents (copies) in insertion order.
        """
    def __len__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def add(self, document: Document) -> None:
        """
        Adds a Document. Raises ConfigError for an empty or duplicate id.
        """
    def clear(self) -> None:
        ...
    def get(self, id: str) -> Document:
        """
        The document with this id (a copy). Raises NotFoundError (a KeyError) for an unknown id.
        """
    def ids(self) -> list[str]:
        """
        The ids in insertion order.
        """
    def remove(self, id: str) -> None:
        """
        Removes a document. Raises NotFoundError for an unknown id.
        """
    def save_jsonl(self, path: typing.Any) -> None:
        """
        Writes every document as one JSON line (load_jsonl reads it back). Raises IoError.
        """
    def update(self, document: Document) -> int:
        """
        Replaces the document with the same id and returns its new version (old + 1). Raises NotFoundError for an unknown id.
        """
class _KnowledgeBaseIterator:
    def __iter__(self) -> typing.Any:
        ...
    def __next__(self) -> Document:
        ...
class BM25:
    """
    Okapi BM25 over an in-memory inverted index (Xapian's BM25 formula), with incremental add/remove, exact top-k with dynamic pruning and parallel batch search. Thread-safe.
    """
    def __contains__(self, arg0: str) -> bool:
        ...
    def __init__(self, k1: typing.SupportsFloat | typing.SupportsIndex = 0.5, b: typing.SupportsFloat | typing.SupportsIndex = 0.75, unique_query_terms: bool = True, dynamic_pruning: bool = True, lowercase: bool = True, stopwords: bool = True, stem: bool = True, language: str = 'english') -> None:
        """
        Defaults (k1=0.5, b=0.75, English stop words, each distinct query word once) are tuned for dialogue queries over short snippets; k1=1, b=0.5, stopwords=False, unique_query_terms=False reproduce Xapian's default BM25 ranking. Raises ConfigError for k1 < 0 or b outside [0, 1].
        """
    def __len__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def add(self, id: str, text: str) -> None:
        """
        Indexes one text. Raises ConfigError on an empty or duplicate id.
        """
    def add_documents(self, documents: typing.Any) -> None:
        """
        Indexes a KnowledgeBase or an iterable of Document (title + text). All ids are checked first: ConfigError on an empty or duplicate id, and then nothing is added. The GIL is released while indexing: do not modify the KnowledgeBase from another thread meanwhile.
        """
    def clear(self) -> None:
        """
        Removes every document.
        """
    def remove(self, id: str) -> None:
        """
        Removes a document (later searches never return it). Raises NotFoundError for an unknown id.
        """
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query` (list[Hit], best first; fewer when fewer match). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = one per hardware thread).
        """
    def stats(self) -> dict:
        """
        Index statistics: documents, terms, postings, average_length (live documents only).
        """
    def update(self, id: str, text: str) -> None:
        """
        Replaces the text of a document. Raises NotFoundError for an unknown id.
        """
    @property
    def config(self) -> typing.Any:
        """
        The settings as a dict (k1, b, unique_query_terms, dynamic_pruning, analyzer).
        """
class ExactIndex:
    """
    Exact inner-product / cosine index (blocked SIMD matrix product + partial top-k).
    
    ExactIndex(dim, metric="ip"); metric "ip" or "cosine" (vectors normalised).
    """
    def __contains__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    def __init__(self, dim: typing.SupportsInt | typing.SupportsIndex, metric: str = 'ip') -> None:
        ...
    def __len__(self) -> int:
        ...
    def add(self, labels: typing.Any, vectors: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        """
        Adds vectors (n, dim) under labels (n,) (non-negative ints). Raises DimensionError on a wrong shape or NaN/inf, ConfigError on a duplicate label.
        """
    def remove(self, label: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Removes a vector. Raises NotFoundError for an unknown label.
        """
    def search(self, queries: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Nearest vectors of each query row: (labels int64 (n, m), scores float32 (n, m)) with m = min(k, max(len(index), 1)), best first, padded with -1 / -inf where fewer are found (a k larger than the index allocates nothing more). A 1-D query gives 1-D results. Raises ConfigError when k <= 0, DimensionError on a wrong width or NaN/inf.
        """
    def vector(self, label: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        """
        The stored vector (normalised under cosine).
        """
    @property
    def dim(self) -> int:
        """
        Vector dimension.
        """
    @property
    def metric(self) -> str:
        """
        "ip" or "cosine".
        """
class HnswIndex:
    """
    Approximate (HNSW, hnswlib) inner-product / cosine index with a vectorised distance.
    
    HnswIndex(dim, metric="ip", M=16, ef_construction=200, max_elements=1024, seed=100, ef=100, compact_search=True); the capacity grows automatically; search uses max(ef, k); compact_search traverses the graph with bfloat16 copies of the vectors (half the memory traffic) and re-scores the candidates in float32.
    """
    @staticmethod
    def load(path: typing.Any) -> HnswIndex:
        """
        Loads an index written by save(). Raises IoError on a missing or corrupt file.
        """
    def __contains__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    def __init__(self, dim: typing.SupportsInt | typing.SupportsIndex, metric: str = 'ip', M: typing.SupportsInt | typing.SupportsIndex = 16, ef_construction: typing.SupportsInt | typing.SupportsIndex = 200, max_elements: typing.SupportsInt | typing.SupportsIndex = 1024, seed: typing.SupportsInt | typing.SupportsIndex = 100, ef: typing.SupportsInt | typing.SupportsIndex = 100, compact_search: bool = True) -> None:
        ...
    def __len__(self) -> int:
        ...
    def add(self, labels: typing.Any, vectors: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        Adds vectors (n, dim) under labels (n,) on `threads` threads (0 = all). Raises DimensionError on a wrong shape or NaN/inf, ConfigError on a duplicate label.
        """
    def remove(self, label: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Removes a vector. Raises NotFoundError for an unknown label.
        """
    def save(self, path: typing.Any) -> None:
        """
        Writes the index to `path` and its settings to `path + ".aitl.json"`. Raises IoError.
        """
    def search(self, queries: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Nearest vectors of each query row: (labels int64 (n, m), scores float32 (n, m)) with m = min(k, max(len(index), 1)), best first, padded with -1 / -inf where fewer are found (a k larger than the index allocates nothing more). A 1-D query gives 1-D results. Raises ConfigError when k <= 0, DimensionError on a wrong width or NaN/inf.
        """
    def vector(self, label: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        """
        The stored vector (normalised under cosine).
        """
    @property
    def M(self) -> int:
        ...
    @property
    def compact_search(self) -> bool:
        """
        Whether searches traverse bfloat16 copies (scores are re-computed in float32).
        """
    @property
    def dim(self) -> int:
        """
        Vector dimension.
        """
    @property
    def ef(self) -> int:
        """
        Search-time candidate list size (search uses max(ef, k)).
        """
    @ef.setter
    def ef(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ef_construction(self) -> int:
        ...
    @property
    def max_elements(self) -> int:
        """
        Current capacity (grows automatically).
        """
    @property
    def metric(self) -> str:
        """
        "ip" or "cosine".
        """
class CallbackEncoder:
    """
    Encoder calling fn(list[str]) -> array (n, dim); the shape and finiteness of what fn returns are checked (DimensionError).
    """
    def __init__(self, fn: typing.Any, dim: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def encode(self, texts: collections.abc.Sequence[str]) -> numpy.ndarray:
        """
        Encodes texts: float32 array (len(texts), dim).
        """
    @property
    def dim(self) -> int:
        ...
class DenseRetriever:
    """
    Dense retriever: encoder + vector index, string ids.
    
    DenseRetriever(encoder, index="exact"|"hnsw", metric="cosine", M=16, ef_construction=200, ef=100, batch_size=256); encoder is a HashedEncoder, a CallbackEncoder, or any object with .dim and .encode(list[str]) (or __call__) returning an (n, dim) float array.
    """
    def __contains__(self, arg0: str) -> bool:
        ...
    def __init__(self, encoder: typing.Any, index: str = 'exact', metric: str = 'cosine', M: typing.SupportsInt | typing.SupportsIndex = 16, ef_construction: typing.SupportsInt | typing.SupportsIndex = 200, ef: typing.SupportsInt | typing.SupportsIndex = 100, batch_size: typing.SupportsInt | typing.SupportsIndex = 256) -> None:
        ...
    def __len__(self) -> int:
        ...
    def add(self, id: str, text: str) -> None:
        """
        Encodes and indexes one text. Raises ConfigError on an empty or duplicate id.
        """
    def add_documents(self, documents: typing.Any) -> None:
        """
        Indexes a KnowledgeBase or an iterable of Document (title + text), encoded in batches.
        """
    def remove(self, id: str) -> None:
        """
        Removes a document. Raises NotFoundError for an unknown id.
        """
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query`, best first (list[Hit]). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = all).
        """
    def update(self, id: str, text: str) -> None:
        """
        Re-encodes a document. Raises NotFoundError for an unknown id.
        """
    @property
    def dim(self) -> int:
        ...
    @property
    def ef(self) -> int:
        """
        HNSW search candidate list size (StateError with the exact index).
        """
    @ef.setter
    def ef(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def encoder(self) -> typing.Any:
        """
        The encoder object given to the constructor.
        """
    @property
    def index(self) -> str:
        ...
    @property
    def metric(self) -> str:
        ...
class HybridRetriever:
    """
    Fusion of two retrievers (BM25, DenseRetriever, HybridRetriever, or any object with .search(query, k)).
    
    HybridRetriever(first, second, method="rrf"|"weighted", rrf_k=60, weight=0.5, depth=100): RRF sums 1/(rrf_k + rank); weighted sums weight * minmax(first) + (1 - weight) * minmax(second). Each side gives max(depth, k) candidates; ties are broken by id.
    """
    def __init__(self, first: typing.Any, second: typing.Any, method: str = 'rrf', rrf_k: typing.SupportsFloat | typing.SupportsIndex = 60.0, weight: typing.SupportsFloat | typing.SupportsIndex = 0.5, depth: typing.SupportsInt | typing.SupportsIndex = 100) -> None:
        ...
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query`, best first (list[Hit]). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = all).
        """
    @property
    def depth(self) -> int:
        ...
    @property
    def first(self) -> typing.Any:
        ...
    @property
    def method(self) -> str:
        ...
    @property
    def rrf_k(self) -> float:
        ...
    @property
    def second(self) -> typing.Any:
        ...
    @property
    def weight(self) -> float:
        ...
class FusedRetriever:
    """
    Weighted reciprocal rank fusion of several retrievers, searched in C++ (aitl::fused).
    
    FusedRetriever(retrievers, weights=None, depth=100, rrf_k=60.0): a document scores sum(weight / (rrf_k + rank)) over the retrievers' top max(depth, k) (ranks from 1); ties by smaller id. weights: one per retriever, >= 0, at least one > 0 (None: all 1); a retriever of weight 0 is not searched. Retrievers: BM25, DenseRetriever, HybridRetriever, FusedRetriever, RerankedRetriever, FilteredRetriever, ServingIndex (no Python per query), or an object with .search(query, k) (called with the GIL). Raises ConfigError.
    """
    def __init__(self, retrievers: collections.abc.Sequence[typing.Any], weights: typing.Any = None, depth: typing.SupportsInt | typing.SupportsIndex = 100, rrf_k: typing.SupportsFloat | typing.SupportsIndex = 60.0) -> None:
        ...
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query`, best first (list[Hit]). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = all).
        """
    @property
    def depth(self) -> int:
        ...
    @property
    def retrievers(self) -> list[typing.Any]:
        ...
    @property
    def rrf_k(self) -> float:
        ...
    @property
    def weights(self) -> list[float]:
        ...
class RerankedRetriever:
    """
    A reranker over the top of a first stage, as one retriever (aitl::reranked): search(query, k) takes the first stage's top max(depth, k) and returns the reranker's best k of them (depth 0: k).
    
    RerankedRetriever(retriever, reranker, depth=0): retriever as for FusedRetriever; reranker: a FeatureRanker (shared, searched in C++), None (identity), an object with .rerank(query, hits, k) or a callable(query, hits) -> hits (called with the GIL).
    """
    def __init__(self, retriever: typing.Any, reranker: typing.Any, depth: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query`, best first (list[Hit]). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = all).
        """
    @property
    def depth(self) -> int:
        ...
    @property
    def reranker(self) -> typing.Any:
        ...
    @property
    def retriever(self) -> typing.Any:
        ...
class FilteredRetriever:
    """
    A retriever that never returns some documents, which stay indexed (aitl::filtered): search(query, k) takes the inner top max(depth, k) (depth 0: k + the number excluded), drops the excluded ids and returns the first k left.
    
    FilteredRetriever(retriever, exclude, depth=0).
    """
    def __init__(self, retriever: typing.Any, exclude: collections.abc.Sequence[str], depth: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best documents for `query`, best first (list[Hit]). Raises ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query (list[list[Hit]]), on `threads` threads (0 = all).
        """
    @property
    def excluded(self) -> list[str]:
        ...
    @property
    def retriever(self) -> typing.Any:
        ...
class Evaluation:
    """
    Result of evaluate(): per-query values and means (trec_eval's definitions).
    """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict:
        """
        All fields as a new plain dict (JSON-serialisable).
        """
    @property
    def mean(self) -> dict:
        """
        dict[metric, float]: mean over the evaluated queries.
        """
    @property
    def metrics(self) -> list:
        """
        list[str]: canonical metric names, in request order.
        """
    @property
    def per_query(self) -> dict:
        """
        dict[query id, dict[metric, float]].
        """
    @property
    def queries(self) -> int:
        """
        int: number of evaluated queries.
        """
    @property
    def queries_without_qrels(self) -> list:
        """
        list[str]: queries of the run that the qrels do not judge (skipped).
        """
    @property
    def queries_without_run(self) -> list:
        """
        list[str]: judged queries absent from the run (skipped unless average_complete).
        """
class Candidate:
    """
    One ranked candidate of a stage: doc_id, 1-based rank, score.
    """
    __hash__: typing.ClassVar[None] = None
    doc_id: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Candidate:
        """
        A Candidate from {'doc_id', 'rank', 'score'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: Candidate) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, doc_id: str, rank: typing.SupportsInt | typing.SupportsIndex, score: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def rank(self) -> int:
        """
        1-based rank in its stage.
        """
    @rank.setter
    def rank(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def score(self) -> float:
        ...
    @score.setter
    def score(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Reply:
    """
    One suggested reply as shown: the generator variant, the text and the screen side.
    """
    __hash__: typing.ClassVar[None] = None
    text: str
    variant: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Reply:
        """
        A Reply from {'variant', 'text', 'position'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: Reply) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, variant: str, text: str, position: str = 'left') -> None:
        """
        position: 'left' or 'right' (ConfigError otherwise).
        """
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def position(self) -> str:
        """
        'left' or 'right'.
        """
    @position.setter
    def position(self, arg1: str) -> None:
        ...
class Impression:
    """
    The served context of one suggestion: query and conversation, the retrieved and shown candidates, the replies (replies[0] is A, replies[1] is B) with their screen sides, and the model versions. List and dict properties return copies: assign a new list to change them.
    """
    __hash__: typing.ClassVar[None] = None
    case_id: str
    query: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Impression:
        """
        An Impression from its JSON form ('type' optional, must be 'impression'). Raises ConfigError naming the field for a missing required key, a wrong type or an unknown key.
        """
    def __eq__(self, arg0: Impression) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, case_id: str, query: str, timestamp_ms: typing.SupportsInt | typing.SupportsIndex, id: str = '', turn: typing.SupportsInt | typing.SupportsIndex = 0, context: collections.abc.Sequence[str] = [], retrieved: collections.abc.Sequence[Candidate] = [], shown: collections.abc.Sequence[Candidate] = [], replies: collections.abc.Sequence[Reply] = [], models: collections.abc.Mapping[str, str] = {}, seq: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        Nothing is checked here but the types: call validate() (the store does).
        """
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def find_shown(self, doc_id: str) -> Candidate | None:
        """
        The shown Candidate with this doc id, or None.
        """
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    def validate(self) -> None:
        """
        Raises ConfigError naming the field: empty case_id/query/doc id/variant/text, negative timestamp, ranks not 1..n, duplicate or non-finite candidates, a shown doc not retrieved, more than two replies or two on the same side, empty model role/version.
        """
    @property
    def context(self) -> list[str]:
        """
        Conversation turns before the query (a copy).
        """
    @context.setter
    def context(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def id(self) -> str:
        """
        Unique id; empty: the store assigns one.
        """
    @id.setter
    def id(self, arg0: str) -> None:
        ...
    @property
    def models(self) -> dict[str, str]:
        """
        Role ('retriever', 'reranker', ...) -> version id (a copy).
        """
    @models.setter
    def models(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
    @property
    def replies(self) -> list[Reply]:
        """
        0, 1 or 2 replies: [0] is A, [1] is B (a copy).
        """
    @replies.setter
    def replies(self, arg0: collections.abc.Sequence[Reply]) -> None:
        ...
    @property
    def retrieved(self) -> list[Candidate]:
        """
        Retrieval stage, ranks 1..n (a copy).
        """
    @retrieved.setter
    def retrieved(self, arg0: collections.abc.Sequence[Candidate]) -> None:
        ...
    @property
    def seq(self) -> int:
        """
        Store order (0 = not stored yet).
        """
    @seq.setter
    def seq(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def shown(self) -> list[Candidate]:
        """
        Reranked list the agent saw, ranks 1..n (a copy).
        """
    @shown.setter
    def shown(self, arg0: collections.abc.Sequence[Candidate]) -> None:
        ...
    @property
    def timestamp_ms(self) -> int:
        """
        When it was shown, Unix milliseconds.
        """
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def turn(self) -> int:
        ...
    @turn.setter
    def turn(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Preference:
    """
    Pairwise preference between reply A and reply B: choice 'a' | 'b' | 'tie' | 'both_bad', strength 'slight' | 'clear' | 'strong'.
    """
    __hash__: typing.ClassVar[None] = None
    choice: str
    rationale: str
    strength: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Preference:
        """
        A Preference from {'choice', 'strength', 'rationale'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: Preference) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, choice: str, strength: str = 'slight', rationale: str = '') -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
class Adoption:
    """
    Whether the agent used a reply: outcome 'used_as_is' | 'used_with_edits' | 'not_used', the slot (0 = A, 1 = B), the text sent, reasons from a fixed list ('wrong_policy', 'missing_information', 'not_applicable', 'tone', 'too_long', 'hallucinated_detail', 'wrong_reference', 'other').
    """
    __hash__: typing.ClassVar[None] = None
    final_text: str
    outcome: str
    rationale: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Adoption:
        """
        An Adoption from {'outcome', 'reply', 'final_text', 'reasons', 'rationale'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: Adoption) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, outcome: str, reply: typing.SupportsInt | typing.SupportsIndex = 0, final_text: str = '', reasons: collections.abc.Sequence[str] = [], rationale: str = '') -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def reasons(self) -> list[str]:
        """
        Reason names (a copy).
        """
    @reasons.setter
    def reasons(self, arg1: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def reply(self) -> int:
        """
        Slot: 0 = A, 1 = B.
        """
    @reply.setter
    def reply(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class RelevanceLabel:
    """
    The agent's judgement of one shown reference.
    """
    __hash__: typing.ClassVar[None] = None
    doc_id: str
    relevant: bool
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> RelevanceLabel:
        """
        A RelevanceLabel from {'doc_id', 'relevant'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: RelevanceLabel) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, doc_id: str, relevant: bool) -> None:
        ...
    def __iter__(self) -> collections.abc.Iterator:
        """
        Unpacks as (doc_id, relevant).
        """
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
class KnowledgeRelevance:
    """
    Relevance labels of shown references, plus relevant references the agent selected by hand (not shown). labels may be given as a list of RelevanceLabel, a list of (doc_id, relevant) pairs or a dict {doc_id: relevant}; it reads back as a list of RelevanceLabel.
    """
    __hash__: typing.ClassVar[None] = None
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> KnowledgeRelevance:
        """
        A KnowledgeRelevance from {'labels': [{'doc_id', 'relevant'}...], 'selected': [...]}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: KnowledgeRelevance) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, labels: typing.Any = [], selected: collections.abc.Sequence[str] = []) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def labels(self) -> list[RelevanceLabel]:
        """
        List of RelevanceLabel (a copy); accepts the forms the constructor does.
        """
    @labels.setter
    def labels(self, arg1: typing.Any) -> None:
        ...
    @property
    def selected(self) -> list[str]:
        """
        Doc ids selected by hand (a copy).
        """
    @selected.setter
    def selected(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
class MissingKnowledge:
    """
    What the knowledge base lacks to answer the case, and where it could come from.
    """
    __hash__: typing.ClassVar[None] = None
    description: str
    suggested_source: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> MissingKnowledge:
        """
        A MissingKnowledge from {'description', 'suggested_source'}. Raises ConfigError naming the field.
        """
    def __eq__(self, arg0: MissingKnowledge) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, description: str, suggested_source: str = '') -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
class Annotation:
    """
    One agent annotation of an impression: common fields plus a body (Preference, Adoption, KnowledgeRelevance or MissingKnowledge); kind names the body's type. body returns a copy: assign a new body to change it.
    """
    __hash__: typing.ClassVar[None] = None
    annotator: str
    impression_id: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> Annotation:
        """
        An Annotation from its JSON form ('type' names the body). Raises ConfigError naming the field for a missing required key, a wrong type, a bad enum or an unknown key.
        """
    def __eq__(self, arg0: Annotation) -> bool:
        ...
    def __getstate__(self) -> dict[str, typing.Any]:
        ...
    def __init__(self, impression_id: str, annotator: str, body: Preference | Adoption | KnowledgeRelevance | MissingKnowledge, timestamp_ms: typing.SupportsInt | typing.SupportsIndex, time_to_annotate_ms: typing.SupportsInt | typing.SupportsIndex = 0, weight: typing.SupportsFloat | typing.SupportsIndex = 1.0, id: str = '', seq: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        Nothing is checked here but the types: call validate() (the store does).
        """
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: typing.Any) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    def validate(self, impression: Impression | None = None) -> None:
        """
        Raises ConfigError naming the field. Alone: empty impression_id/annotator, negative times, bad weight, adoption slot > 1, used_with_edits without final_text, repeated reasons, relevance without labels, repeated or empty doc ids. With the impression: also a preference without two replies, an adoption slot not shown, a label for a reference not shown, a hand-selected reference that was shown.
        """
    @property
    def body(self) -> Preference | Adoption | KnowledgeRelevance | MissingKnowledge:
        """
        Preference | Adoption | KnowledgeRelevance | MissingKnowledge (a copy).
        """
    @body.setter
    def body(self, arg1: typing.Any) -> None:
        ...
    @property
    def id(self) -> str:
        """
        Unique id; empty: the store assigns one.
        """
    @id.setter
    def id(self, arg0: str) -> None:
        ...
    @property
    def kind(self) -> str:
        """
        'preference', 'adoption', 'knowledge_relevance' or 'missing_knowledge'.
        """
    @property
    def seq(self) -> int:
        """
        Store order (0 = not stored yet).
        """
    @seq.setter
    def seq(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def time_to_annotate_ms(self) -> int:
        ...
    @time_to_annotate_ms.setter
    def time_to_annotate_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def timestamp_ms(self) -> int:
        ...
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class StoreStats:
    """
    Counts of a store per record type, and its watermarks (largest seq).
    """
    __hash__: typing.ClassVar[None] = None
    def __eq__(self, arg0: StoreStats) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def count(self, kind: str) -> int:
        """
        The number of annotations of one type.
        """
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {'impressions', 'annotations', 'preference', 'adoption', 'knowledge_relevance', 'missing_knowledge', 'impression_watermark', 'annotation_watermark'}.
        """
    @property
    def adoption(self) -> int:
        ...
    @property
    def annotation_watermark(self) -> int:
        """
        Largest annotation seq (0 if none): pass it to annotations_since.
        """
    @property
    def annotations(self) -> int:
        """
        All four annotation types.
        """
    @property
    def impression_watermark(self) -> int:
        """
        Largest impression seq (0 if none).
        """
    @property
    def impressions(self) -> int:
        ...
    @property
    def knowledge_relevance(self) -> int:
        ...
    @property
    def missing_knowledge(self) -> int:
        ...
    @property
    def preference(self) -> int:
        ...
class SqliteStore:
    """
    Durable store of impressions and annotations in one SQLite file (WAL; created with the current schema when missing). Every append is validated (annotations against their stored impression) and all or nothing; the store assigns seq and, for an empty id, an id. Thread-safe: appends from several threads are group-committed (the GIL is released in every call). Use as a context manager, or call close().
    """
    def __enter__(self) -> SqliteStore:
        ...
    def __exit__(self, *args) -> None:
        """
        Closes the store; exceptions propagate.
        """
    def __init__(self, path: typing.Any, durability: str = 'full', busy_timeout_ms: typing.SupportsInt | typing.SupportsIndex = 10000, group_commit_max: typing.SupportsInt | typing.SupportsIndex = 512, read_only: bool = False) -> None:
        """
        durability 'full': an append returns once synced to disk (survives power loss); 'normal': survives a process crash. busy_timeout_ms: wait for another process's write lock. group_commit_max: most appends committed together. read_only: every write raises StateError (the file must exist). Raises ConfigError for bad settings, IoError when the file cannot be opened or is not SQLite, StateError when it is not an aitl store or its schema is newer.
        """
    def __repr__(self) -> str:
        ...
    def annotations(self, *, from_ms: typing.SupportsInt | typing.SupportsIndex | None = None, to_ms: typing.SupportsInt | typing.SupportsIndex | None = None, annotator: str | None = None, case_id: str | None = None, model_version: str | None = None, impression_id: str | None = None, kind: str | None = None, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, limit: typing.SupportsInt | typing.SupportsIndex = 0, as_dict: bool = False) -> list[Annotation] | list[dict[str, typing.Any]]:
        """
        Annotations in seq order, as Annotation objects or (as_dict) dicts. Filters (keyword arguments, None = no filter): from_ms <= timestamp_ms < to_ms, annotator, case_id, model_version (any role), impression_id, kind ('preference', 'adoption', 'knowledge_relevance', 'missing_knowledge'), after_seq (seq > after_seq), limit (0 = all). case_id and model_version select annotations of impressions with that case or model version.
        """
    def annotations_since(self, watermark: typing.SupportsInt | typing.SupportsIndex, limit: typing.SupportsInt | typing.SupportsIndex = 0, as_dict: bool = False) -> list[Annotation] | list[dict[str, typing.Any]]:
        """
        Annotations with seq > watermark in seq order (at most limit; 0 = all). Resume from the last seq seen: nothing is missed or returned twice.
        """
    def append(self, x: typing.Any) -> str | list[str]:
        """
        Stores an Impression, an Annotation or a dict in their JSON form (its 'type' says which), or a list of them as one all-or-nothing transaction (impressions of the list may be annotated in the same list). Returns the stored id, or the list of ids in order. Raises ConfigError naming the field (invalid record, duplicate id; in a list the message names the item), NotFoundError for an annotation of an unknown impression, StateError when read-only. Nothing of a failed call is stored.
        """
    def close(self) -> None:
        """
        Closes the store (calls already running finish first); later calls raise StateError. Idempotent.
        """
    def contains_annotation(self, id: str) -> bool:
        ...
    def contains_impression(self, id: str) -> bool:
        ...
    def export_jsonl(self, path: typing.Any) -> None:
        """
        Writes a header line, then every impression and every annotation in seq order in their JSON forms (atomically: a temporary file, then a rename). Raises IoError.
        """
    def get_annotation(self, id: str) -> Annotation:
        """
        The annotation with this id. Raises NotFoundError (a KeyError).
        """
    def get_impression(self, id: str) -> Impression:
        """
        The impression with this id. Raises NotFoundError (a KeyError).
        """
    def import_jsonl(self, path: typing.Any) -> int:
        """
        Stores every record of a file written by export_jsonl in one transaction, keeping seq and id; returns the number of records. Raises ParseError (.file, .line, .field) and stores nothing when a line is bad; IoError when the file cannot be read; StateError when read-only.
        """
    def impressions(self, *, from_ms: typing.SupportsInt | typing.SupportsIndex | None = None, to_ms: typing.SupportsInt | typing.SupportsIndex | None = None, annotator: str | None = None, case_id: str | None = None, model_version: str | None = None, impression_id: str | None = None, kind: str | None = None, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, limit: typing.SupportsInt | typing.SupportsIndex = 0, as_dict: bool = False) -> list[Impression] | list[dict[str, typing.Any]]:
        """
        Impressions in seq order, as Impression objects or (as_dict) dicts. Filters (keyword arguments, None = no filter): from_ms <= timestamp_ms < to_ms, annotator, case_id, model_version (any role), impression_id, kind ('preference', 'adoption', 'knowledge_relevance', 'missing_knowledge'), after_seq (seq > after_seq), limit (0 = all). annotator and kind select impressions with at least one such annotation.
        """
    def stats(self) -> StoreStats:
        """
        Counts per record type and the watermarks, one consistent snapshot (StoreStats; .to_dict()).
        """
    @property
    def closed(self) -> bool:
        ...
    @property
    def config(self) -> dict[str, typing.Any]:
        """
        The settings as a dict: durability, busy_timeout_ms, group_commit_max, read_only.
        """
    @property
    def path(self) -> str:
        """
        The path the store was opened with.
        """
    @property
    def schema_version(self) -> int:
        """
        Schema version of the file.
        """
    @property
    def watermark(self) -> int:
        """
        The largest annotation seq (0 when empty): pass it to annotations_since.
        """
class RetrievalExample:
    """
    One query with the documents agents judged relevant (positives: shown and judged relevant, then hand-selected) and not relevant (hard_negatives), plus negatives mined from a retriever. Document ids only.
    """
    case_id: str
    impression_id: str
    query: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def negatives(self) -> list[str]:
        """
        hard_negatives followed by mined_negatives.
        """
    def to_dict(self) -> typing.Any:
        """
        {'case_id', 'impression_id', 'query', 'positives', 'hard_negatives', 'mined_negatives', 'weight', 'timestamp_ms'}.
        """
    @property
    def hard_negatives(self) -> list[str]:
        ...
    @hard_negatives.setter
    def hard_negatives(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def mined_negatives(self) -> list[str]:
        ...
    @mined_negatives.setter
    def mined_negatives(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def positives(self) -> list[str]:
        ...
    @positives.setter
    def positives(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def timestamp_ms(self) -> int:
        ...
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class RerankList:
    """
    One impression's shown candidates with graded labels (0 not relevant, 1 relevant, 2 selected by hand: appended with rank 0), and each candidate's retrieval score and rank (0 when not retrieved).
    """
    case_id: str
    impression_id: str
    query: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> typing.Any:
        """
        {'case_id', 'impression_id', 'query', 'context', 'candidates', 'labels', 'retrieval_scores', 'retrieval_ranks', 'weight', 'timestamp_ms'}.
        """
    @property
    def candidates(self) -> list[Candidate]:
        ...
    @candidates.setter
    def candidates(self, arg0: collections.abc.Sequence[Candidate]) -> None:
        ...
    @property
    def context(self) -> list[str]:
        ...
    @context.setter
    def context(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def labels(self) -> list[int]:
        ...
    @labels.setter
    def labels(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def retrieval_ranks(self) -> list[int]:
        ...
    @retrieval_ranks.setter
    def retrieval_ranks(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def retrieval_scores(self) -> list[float]:
        ...
    @retrieval_scores.setter
    def retrieval_scores(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def timestamp_ms(self) -> int:
        ...
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class PreferencePair:
    """
    A chosen and a rejected reply to one prompt (context turns and query, one per line); source 'preference' or 'adoption'.
    """
    chosen: str
    impression_id: str
    prompt: str
    rejected: str
    source: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> typing.Any:
        """
        {'impression_id', 'prompt', 'chosen', 'rejected', 'weight', 'source', 'timestamp_ms', 'query_id'}.
        """
    @property
    def query_id(self) -> str:
        """
        Relevance-feedback query id of the pair's case (compile_qrels' key; '' for none): RewardModel.train leaves that query's judgements out of the pair's cited_prior.
        """
    @query_id.setter
    def query_id(self, arg0: str) -> None:
        ...
    @property
    def timestamp_ms(self) -> int:
        ...
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class KtoExample:
    """
    One reply (completion) to a prompt with a desirable (True) / undesirable (False) label.
    """
    completion: str
    impression_id: str
    label: bool
    prompt: str
    source: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> typing.Any:
        """
        {'impression_id', 'prompt', 'completion', 'label', 'weight', 'source', 'timestamp_ms'}.
        """
    @property
    def timestamp_ms(self) -> int:
        ...
    @timestamp_ms.setter
    def timestamp_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class PreferenceData:
    """
    Preference pairs and KTO examples compiled from replies' feedback.
    """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict:
        """
        {'pairs': [...], 'kto': [...]} (each item as its to_dict).
        """
    @property
    def kto(self) -> list[KtoExample]:
        ...
    @kto.setter
    def kto(self, arg0: collections.abc.Sequence[KtoExample]) -> None:
        ...
    @property
    def pairs(self) -> list[PreferencePair]:
        ...
    @pairs.setter
    def pairs(self, arg0: collections.abc.Sequence[PreferencePair]) -> None:
        ...
class FeedbackQrels:
    """
    Qrels compiled from relevance feedback (query id = case id, '#turn' appended for turns after 0; grade 1 relevant, 0 judged not relevant) and each query's text.
    """
    def __len__(self) -> int:
        """
        The number of (query, document) judgements.
        """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict:
        """
        {'qrels': {...}, 'queries': {...}}.
        """
    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        """
        dict[query id, dict[doc id, grade]].
        """
    @qrels.setter
    def qrels(self, arg0: collections.abc.Mapping[str, collections.abc.Mapping[str, typing.SupportsInt | typing.SupportsIndex]]) -> None:
        ...
    @property
    def queries(self) -> dict[str, str]:
        """
        dict[query id, query text].
        """
    @queries.setter
    def queries(self, arg0: collections.abc.Mapping[str, str]) -> None:
        ...
class RewardModel:
    """
    Bradley-Terry reward model: P(chosen > rejected) = sigmoid(w . (phi(chosen) - phi(rejected))) over standardised reply features (see feature_names()): length, overlap with the question and the conversation, grounding in the references, citation count and validity, relevance and rank of the cited references, repetition, novel terms, and the cited documents' relevance rate in relevance feedback (set_document_relevance). A query's last line is the question, the lines before it the conversation; a reference may start with its '[doc_id]' marker so citations can be checked. Trained by Newton steps (deterministic: same data, same bytes).
    """
    @staticmethod
    def feature_names() -> list[str]:
        """
        The feature names, in the order of features().
        """
    @staticmethod
    def from_bytes(data: bytes) -> RewardModel:
        """
        A model from to_bytes() output. Raises ParseError for anything else.
        """
    @staticmethod
    def load(path: typing.Any) -> RewardModel:
        """
        Reads a saved model. Raises IoError, ParseError.
        """
    def __init__(self, config: typing.Any = None) -> None:
        """
        config: dict of settings {'l2', 'epochs', 'tolerance', 'patience', 'min_delta', 'validation_fraction', 'seed', 'top_references', 'prior_strength', 'analyzer'} (missing keys take defaults). Raises ConfigError for unknown keys or values out of range.
        """
    def __repr__(self) -> str:
        ...
    def accuracy(self, pairs: collections.abc.Sequence[PreferencePair], references: typing.Any = None) -> float:
        """
        Weighted share of pairs whose chosen reply scores higher (equal scores count half); NaN for none.
        """
    def choose(self, query: str, candidates: collections.abc.Sequence[str], references: collections.abc.Sequence[str] = []) -> int:
        """
        Index of the best-scored candidate (the first of equal scores). Raises ConfigError for no candidates.
        """
    def features(self, query: str, reply: str, references: collections.abc.Sequence[str] = [], leave_out: str = '') -> list[float]:
        """
        The raw features of one reply. leave_out: a query id whose relevance judgements cited_prior leaves out, as training does for a pair with that query_id ('' : all evidence, as score and choose).
        """
    def save(self, path: typing.Any) -> None:
        """
        Writes to_bytes() to a file. Raises IoError.
        """
    def score(self, query: str, reply: str, references: collections.abc.Sequence[str] = []) -> float:
        """
        The reward of one reply (higher is better).
        """
    def set_document_relevance(self, judgements: collections.abc.Mapping[str, collections.abc.Mapping[str, typing.SupportsInt | typing.SupportsIndex]]) -> None:
        """
        Sets the relevance evidence behind the cited_prior feature from judgements {query id: {doc id: grade}} (e.g. aitl.compile_qrels(store).judgements): each judgement counts once for its document, relevant when grade > 0. Call before train(); the evidence is saved with the model. Training leaves each pair's own query (PreferencePair.query_id) out of that pair's cited_prior; score and choose use all of it.
        """
    def to_bytes(self) -> bytes:
        """
        The model as JSON bytes (the same model always gives the same bytes).
        """
    def train(self, pairs: collections.abc.Sequence[PreferencePair], references: typing.Any = None, validation: collections.abc.Sequence[PreferencePair] = [], validation_references: typing.Any = None, progress: typing.Any = None) -> typing.Any:
        """
        Trains on PreferencePairs (query = prompt; the judgements of a pair's query_id are left out of its cited_prior). references: one list of reference texts per pair, or None. progress(dict) is called after every Newton step; returning False stops (the best model is kept). Returns the training summary dict {'epochs_run', 'best_epoch', 'best_validation', 'train_loss', 'validation', 'stopped_early', 'cancelled'}. Raises ConfigError for no pairs or a weight <= 0, DimensionError when references do not match the pairs.
        """
    @property
    def config(self) -> typing.Any:
        """
        The settings as a dict.
        """
    @property
    def document_relevance(self) -> dict:
        """
        {doc id: (relevant, judged)}: the evidence set by set_document_relevance (empty: none).
        """
    @property
    def feature_mean(self) -> list[float]:
        ...
    @property
    def feature_scale(self) -> list[float]:
        ...
    @property
    def relevance_judgements(self) -> dict[str, dict[str, int]]:
        """
        {query id: {doc id: 0 or 1}}: the judgements behind document_relevance, kept per query so that training leaves each pair's own query (PreferencePair.query_id) out of its cited_prior.
        """
    @property
    def trained(self) -> bool:
        ...
    @property
    def weights(self) -> list[float]:
        """
        Weights of the standardised features.
        """
class ContrastiveExample:
    """
    A query, one relevant document text and hard-negative texts, for train_encoder.
    """
    positive: str
    query: str
    def __init__(self, query: str, positive: str, negatives: collections.abc.Sequence[str] = [], weight: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def negatives(self) -> list[str]:
        ...
    @negatives.setter
    def negatives(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class EncoderTrainer:
    """
    Contrastive (InfoNCE, in-batch + hard negatives) training of a HashedEncoder's projection with Adam. Settings as a dict and/or keywords: epochs, batch_size, learning_rate, temperature, hard_negatives, beta1, beta2, epsilon, patience, min_delta, validation_k, seed, sparse_adam.
    """
    def __init__(self, config: typing.Any = None, **kwargs) -> None:
        ...
    def loss(self, encoder: HashedEncoder, examples: typing.Any) -> float:
        ...
    def recall_at_k(self, encoder: HashedEncoder, examples: typing.Any) -> float:
        ...
    def train(self, encoder: HashedEncoder, train: typing.Any, validation: typing.Any = None, progress: typing.Any = None) -> typing.Any:
        """
        Trains `encoder` in place; returns the summary dict. progress(dict) returning False stops.
        """
    @property
    def config(self) -> typing.Any:
        ...
class RankingList:
    """
    A training list for FeatureRanker: query, candidates (Hits or (id, score)), labels [(doc id, grade)] with 0 not relevant, 1 relevant, 2 selected; weight.
    """
    query: str
    def __init__(self, query: str, candidates: typing.Any, labels: collections.abc.Sequence[tuple[str, typing.SupportsFloat | typing.SupportsIndex]] = [], weight: typing.SupportsFloat | typing.SupportsIndex = 1.0, dense: collections.abc.Sequence[tuple[str, typing.SupportsFloat | typing.SupportsIndex]] = []) -> None:
        """
        dense: [(doc id, score)] replacing the attached encoder's dense feature for this list (out-of-fold scores).
        """
    @property
    def candidates(self) -> list[Hit]:
        ...
    @candidates.setter
    def candidates(self, arg0: collections.abc.Sequence[Hit]) -> None:
        ...
    @property
    def dense(self) -> list[tuple[str, float]]:
        ...
    @dense.setter
    def dense(self, arg0: collections.abc.Sequence[tuple[str, typing.SupportsFloat | typing.SupportsIndex]]) -> None:
        ...
    @property
    def labels(self) -> list[tuple[str, float]]:
        ...
    @labels.setter
    def labels(self, arg0: collections.abc.Sequence[tuple[str, typing.SupportsFloat | typing.SupportsIndex]]) -> None:
        ...
    @property
    def weight(self) -> float:
        ...
    @weight.setter
    def weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class FeatureRanker:
    """
    Learned reranker over query-document features (feature_names()) trained with LambdaRank on NDCG@k: model='trees' (gradient-boosted trees, LambdaMART; settings in trees={rounds, learning_rate, max_depth, max_leaves, min_child_weight, l2, min_split_gain, subsample, feature_subsample, max_bins}) or model='linear' (epochs, learning_rate, l2, beta1, beta2, epsilon). Either model is a correction on top of the first-stage order: candidate i starts at -base_weight * log2(2 + i), so a model without evidence reproduces the first stage. Settings as a dict and/or keywords (model, trees, epochs, learning_rate, ndcg_k, deep_pair_weight, deep_pair_per_dcg, l2, base_weight, patience, min_delta, learn_feedback, leave_one_out, beta1, beta2, epsilon, seed, features).
    """
    @staticmethod
    def feature_names() -> list[str]:
        ...
    @staticmethod
    def load(data: bytes, kb: KnowledgeBase) -> FeatureRanker:
        """
        A ranker from save() bytes (attach the encoder again when it uses the dense feature).
        """
    @staticmethod
    def load_file(path: typing.Any, kb: KnowledgeBase) -> FeatureRanker:
        ...
    def __init__(self, kb: KnowledgeBase, config: typing.Any = None, **kwargs) -> None:
        ...
    def add_feedback(self, doc_id: str, relevant: typing.SupportsFloat | typing.SupportsIndex = 0.0, not_relevant: typing.SupportsFloat | typing.SupportsIndex = 0.0, selected: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    def clear_encoder(self) -> None:
        ...
    def clear_feedback(self) -> None:
        ...
    def features(self, query: str, candidates: typing.Any) -> numpy.typing.NDArray[numpy.float64]:
        """
        The raw (unstandardised) feature matrix, one row per candidate.
        """
    def fit(self, train: typing.Any, validation: typing.Any = None, progress: typing.Any = None) -> typing.Any:
        """
        Trains on RankingLists (or dicts); returns the summary dict.
        """
    def ndcg(self, lists: typing.Any, k: typing.SupportsInt | typing.SupportsIndex = 8) -> float:
        ...
    def rerank(self, query: str, candidates: typing.Any, k: typing.SupportsInt | typing.SupportsIndex) -> list[Hit]:
        """
        The k best candidates by the model, best first, as Hits.
        """
    def rerank_lists(self, lists: typing.Any) -> list[list[Hit]]:
        """
        Reranks each RankingList's own candidates (judged documents outside them stay out), using the list's dense scores in place of the encoder's when it has them: how cross-validation scores held-out lists.
        """
    def rerank_many(self, queries: collections.abc.Sequence[str], candidates: typing.Any, k: typing.SupportsInt | typing.SupportsIndex) -> list[list[Hit]]:
        ...
    def save(self) -> bytes:
        """
        The model as bytes (deterministic).
        """
    def save_file(self, path: typing.Any) -> None:
        ...
    def score(self, query: str, candidates: typing.Any) -> list[float]:
        ...
    def set_encoder(self, encoder: HashedEncoder) -> None:
        """
        Attaches (a copy of) a HashedEncoder for the dense feature; encodes every document now.
        """
    @property
    def config(self) -> typing.Any:
        ...
    @property
    def feedback(self) -> dict:
        ...
    @property
    def fitted(self) -> bool:
        ...
    @property
    def has_encoder(self) -> bool:
        ...
    @property
    def weights(self) -> list[float]:
        ...
class ModelRegistry:
    """
    A directory of versioned model artifacts with a manifest (manifest.json): champion/challenger roles, promote, reject and rollback. Every change is one atomic manifest commit (write manifest.json.tmp, fsync, rename, fsync the directory), so a crash at any moment leaves the old or the new state, never a mix. Recovery never deletes what the registry did not create: opening moves whatever in versions/ the manifest does not list to quarantine/<name>[.N] (only a version folder that provably never reached a commit is removed), lists it in `recovered` and prints one line on stderr; a folder without manifest.json that is not empty is refused (StateError, nothing touched). With verify_artifacts (default) the files are checked against the manifest's size and SHA-256 on open (the champion), file(), promote() and rollback(). Several objects or processes may share one directory: writers take a file lock and re-read the manifest. Versions are dicts: {'version', 'parent', 'watermark', 'metrics', 'decision', 'created', 'status', 'note', 'artifacts': [{'name', 'sha256', 'bytes'}]}; status is 'challenger', 'champion', 'retired' or 'rejected'. Thread-safe; the GIL is released during file work.
    """
    def __init__(self, path: typing.Any, verify_artifacts: bool = True) -> None:
        """
        Opens (or creates) the registry in folder `path` (str or os.PathLike) and recovers after a crash. verify_artifacts=False skips the size and SHA-256 checks of open, file(), promote() and rollback() (verify() still checks). Raises StateError when the folder has no manifest.json but is not empty (a registry whose manifest was lost, or someone else's files: nothing is changed; the message says how to recover), IoError when it cannot be created or read or a champion file is missing or differs from the manifest, ParseError (.file, .field) when manifest.json is malformed or inconsistent.
        """
    def __repr__(self) -> str:
        ...
    def add(self, files: dict[str, typing.Any], parent: str | None = None, watermark: typing.SupportsInt | typing.SupportsIndex = 0, metrics: typing.Any = None, note: str = '') -> str:
        """
        Copies `files` ({artifact name: source path}, names are plain file names such as 'encoder.bin') durably into a new version, hashes them (SHA-256) and commits it as the challenger (a previous challenger becomes 'rejected' with decision {'reason': 'superseded'}). parent: the version it was trained from (None or '' = none); watermark: store seq of the last annotation used in training; metrics: a dict whose numbers are all finite. Returns the version id ('v000001', ...). Raises ConfigError (no files, bad name, watermark < 0, metrics not a dict, a NaN or inf metric at any depth, named by its path such as 'metrics.loss[2]'), NotFoundError (unknown parent), IoError (unreadable source); nothing is registered then.
        """
    def file(self, version: str, name: str) -> str:
        """
        The path of artifact `name` of `version`, checked against the manifest's size and SHA-256 first (with verify_artifacts; hashed once per process while the file is unchanged). Raises NotFoundError for an unknown version or name, IoError naming the file and both hashes when it is missing or differs.
        """
    def get(self, version: str) -> dict[str, typing.Any]:
        """
        The version as a dict. Raises NotFoundError (a KeyError).
        """
    def manifest(self) -> dict[str, typing.Any]:
        """
        The committed manifest as a dict: format, format_version, next_id, champion, champion_history, versions.
        """
    def promote(self, version: str, decision: typing.Any = None) -> None:
        """
        Makes `version` (the challenger or a retired version) the champion and retires the old one, in one atomic commit; `decision` (the gate decision, a dict or None) is kept with it. Raises NotFoundError (unknown version), StateError (already champion, or rejected), IoError naming the file and both hashes when a file of `version` is missing or differs from the manifest (nothing changes).
        """
    def reject(self, version: str, decision: typing.Any) -> None:
        """
        Marks `version` (the challenger or a retired version) 'rejected' with the gate decision. Raises NotFoundError, StateError (the champion: use rollback(); already rejected).
        """
    def rollback(self) -> str | None:
        """
        Reinstates the previous champion of the champion history (skipping versions rejected since); the current champion becomes 'retired'. Returns the new champion, or None when there is no previous champion (nothing changes). Raises IoError naming the file and both hashes when a file of the version to reinstate is missing or differs from the manifest: the rollback is refused, nothing changes (restore the file, or reject that version and roll back again, or promote another).
        """
    def verify(self, version: str) -> None:
        """
        Re-hashes every artifact file of `version` against the manifest (always, whatever verify_artifacts says). Raises IoError naming the file when one is missing or its size or SHA-256 differs; NotFoundError for an unknown version.
        """
    def versions(self) -> list[dict[str, typing.Any]]:
        """
        Every version as a dict, in id order.
        """
    @property
    def challenger(self) -> dict[str, typing.Any] | None:
        """
        The challenger (added, neither promoted nor rejected) as a dict, or None.
        """
    @property
    def champion(self) -> dict[str, typing.Any] | None:
        """
        The champion version as a dict, or None when none was promoted.
        """
    @property
    def path(self) -> str:
        """
        The registry folder (absolute).
        """
    @property
    def recovered(self) -> list[dict[str, typing.Any]]:
        """
        What recovery did to entries of versions/ that no commit names, as dicts {'action': 'quarantined' or 'removed', 'from': path, 'to': path under quarantine/ ('' when removed), 'reason'}: when this object opened, and when its add() met a folder left by another process's interrupted add. Empty after a clean open.
        """
    @property
    def verify_artifacts(self) -> bool:
        """
        Whether open, file(), promote() and rollback() check files against the manifest (the constructor argument).
        """
class GateConfig:
    """
    Settings of gate(): primary metrics tested on the fresh set, guard metrics checked on the guard set, significance level, test method, tolerances.
    """
    __hash__: typing.ClassVar[None] = None
    method: str
    require: str
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> GateConfig:
        """
        A GateConfig from its dict form; missing keys keep their defaults. Raises ConfigError.
        """
    def __eq__(self, arg0: GateConfig) -> bool:
        ...
    def __init__(self, *, primary: collections.abc.Sequence[str] = ['recall@75', 'precision@8'], require: str = 'all', alpha: typing.SupportsFloat | typing.SupportsIndex = 0.05, method: str = 'permutation', rounds: typing.SupportsInt | typing.SupportsIndex = 10000, guard: collections.abc.Sequence[str] = ['ndcg@10', 'mrr@10', 'recall@75', 'precision@8'], tolerance: typing.SupportsFloat | typing.SupportsIndex = 0.01, tolerances: collections.abc.Mapping[str, typing.SupportsFloat | typing.SupportsIndex] = {}, min_queries: typing.SupportsInt | typing.SupportsIndex = 30, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        All keyword arguments; validated (ConfigError naming the field). require: 'all' or 'any' primary metric significantly better; tolerance: allowed drop of a guard metric's mean (absolute), tolerances: per-metric overrides.
        """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def alpha(self) -> float:
        ...
    @alpha.setter
    def alpha(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def guard(self) -> list[str]:
        ...
    @guard.setter
    def guard(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def min_queries(self) -> int:
        ...
    @min_queries.setter
    def min_queries(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def primary(self) -> list[str]:
        ...
    @primary.setter
    def primary(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
    @property
    def rounds(self) -> int:
        ...
    @rounds.setter
    def rounds(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def tolerance(self) -> float:
        ...
    @tolerance.setter
    def tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def tolerances(self) -> dict[str, float]:
        ...
    @tolerances.setter
    def tolerances(self, arg0: collections.abc.Mapping[str, typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class GateDecision:
    """
    The outcome of gate(): promote or not, a one-line reason with numbers, every comparison (to_dict) and a Markdown table (to_markdown).
    """
    def __bool__(self) -> bool:
        """
        True when promoted.
        """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {promote, reason, deciding_metric, deciding_set, fresh_queries, guard_queries, fresh: [{metric, set, better, worse, tolerance, regression, result}], guard: [...], guard_regressions, config}.
        """
    def to_markdown(self) -> str:
        """
        The decision, its reason and a table of every comparison.
        """
    @property
    def deciding_metric(self) -> str:
        """
        '' when no metric decided (too few queries).
        """
    @property
    def deciding_set(self) -> str:
        """
        'fresh', 'guard' or ''.
        """
    @property
    def fresh_queries(self) -> int:
        ...
    @property
    def guard_queries(self) -> int:
        ...
    @property
    def guard_regressions(self) -> list[str]:
        ...
    @property
    def promote(self) -> bool:
        ...
    @property
    def reason(self) -> str:
        ...
class SchedulerConfig:
    """
    Settings of the Scheduler: count thresholds per annotation type, cadence, drift.
    """
    __hash__: typing.ClassVar[None] = None
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> SchedulerConfig:
        """
        A SchedulerConfig from its dict form; missing keys keep their defaults. Raises ConfigError.
        """
    def __eq__(self, arg0: SchedulerConfig) -> bool:
        ...
    def __init__(self, *, min_counts: collections.abc.Mapping[str, typing.SupportsInt | typing.SupportsIndex] = {'adoption': 200, 'knowledge_relevance': 200, 'missing_knowledge': 50, 'preference': 200}, cadence_ms: typing.SupportsInt | typing.SupportsIndex = 604800000, cadence_min_annotations: typing.SupportsInt | typing.SupportsIndex = 1, drift_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.1, drift_min_window: typing.SupportsInt | typing.SupportsIndex = 100) -> None:
        """
        All keyword arguments; validated. min_counts: {annotation type: new annotations that trigger a run} (types: preference, adoption, knowledge_relevance, missing_knowledge; absent or 0 = no count trigger); cadence_ms: 0 = no cadence trigger; drift_min_window: 0 = no drift trigger.
        """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict.
        """
    @property
    def cadence_min_annotations(self) -> int:
        ...
    @cadence_min_annotations.setter
    def cadence_min_annotations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def cadence_ms(self) -> int:
        ...
    @cadence_ms.setter
    def cadence_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def drift_min_window(self) -> int:
        ...
    @drift_min_window.setter
    def drift_min_window(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def drift_threshold(self) -> float:
        ...
    @drift_threshold.setter
    def drift_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_counts(self) -> dict[str, int]:
        ...
    @min_counts.setter
    def min_counts(self, arg0: collections.abc.Mapping[str, typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
class SchedulerState:
    """
    What the Scheduler knows: new annotations per type since the last run, the last run time, and the adoption / relevance rates of the baseline window and since the last run. Not thread-safe.
    """
    __hash__: typing.ClassVar[None] = None
    @staticmethod
    def from_dict(d: dict[str, typing.Any]) -> SchedulerState:
        """
        A SchedulerState from its dict form. Raises ConfigError.
        """
    def __eq__(self, arg0: SchedulerState) -> bool:
        ...
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def observe(self, annotation: typing.Any) -> None:
        """
        Counts one annotation, or a list of them (Annotation objects or dicts in the JSON form; ConfigError naming the field for a bad dict).
        """
    def record_run(self, now_ms: typing.SupportsInt | typing.SupportsIndex, rebaseline: bool = False) -> None:
        """
        Records that a cycle ran at now_ms: clears the counts and the window since the last run, which becomes the baseline when rebaseline is set or no baseline exists yet.
        """
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {counts, last_run_ms, window_start_ms, baseline: {adoption: {n, positive, rate}, relevance: ...}, recent: {...}}.
        """
    @property
    def counts(self) -> dict[str, int]:
        """
        {annotation type: new annotations since the last run}.
        """
    @property
    def last_run_ms(self) -> int:
        """
        -1 = never.
        """
    @last_run_ms.setter
    def last_run_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def window_start_ms(self) -> int:
        """
        Earliest annotation timestamp since the last run; -1 = none.
        """
    @window_start_ms.setter
    def window_start_ms(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class ScheduleDecision:
    """
    Answer of Scheduler.due(): run, retrain (subset of 'encoder', 'reranker', 'reward_model'), reasons (with numbers).
    """
    def __bool__(self) -> bool:
        """
        True when a cycle is due.
        """
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {run, retrain, reasons}.
        """
    @property
    def reasons(self) -> list[str]:
        ...
    @property
    def retrain(self) -> list[str]:
        ...
    @property
    def run(self) -> bool:
        ...
class Scheduler:
    """
    When to run a flywheel cycle and what to retrain: count triggers (relevance -> encoder + reranker; preference / adoption -> reward_model), cadence and drift (-> all models).
    """
    def __init__(self, config: typing.Any = None) -> None:
        """
        config: SchedulerConfig, its dict form or None (defaults). Raises ConfigError.
        """
    def __repr__(self) -> str:
        ...
    def due(self, state: SchedulerState, now_ms: typing.SupportsInt | typing.SupportsIndex) -> ScheduleDecision:
        """
        Whether a cycle is due at now_ms (Unix milliseconds) and what it retrains; not due is a normal result whose reasons say how far each trigger is.
        """
    @property
    def config(self) -> SchedulerConfig:
        ...
class GapReport:
    """
    The knowledge-gap report: clusters of missing-knowledge flags and "nothing relevant shown" impressions, ranked by a recency-weighted count (see gap_report).
    """
    @staticmethod
    def from_dict(d: dict) -> GapReport:
        """
        The report from its dict form (to_dict()).
        """
    def __len__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        The JSON form as a dict (json.dumps-able).
        """
    def to_markdown(self) -> str:
        """
        The report as Markdown: summary, table of clusters, one section per cluster. Every text from the store (queries, flags, ids, sources) is escaped with escape_markdown: inert as Markdown and as HTML.
        """
    @property
    def clustered_signals(self) -> int:
        ...
    @property
    def clusters(self) -> list[dict[str, typing.Any]]:
        """
        The clusters, best first: dicts with rank, score, size, share, distinct_cases, missing_knowledge, no_relevant, first_seen_ms, last_seen_ms, cohesion, top_terms, representatives, selected_docs, suggested_sources, impression_ids, case_ids.
        """
    @property
    def clusters_found(self) -> int:
        """
        Clusters of at least min_cluster_size signals (before max_clusters).
        """
    @property
    def config(self) -> dict[str, typing.Any]:
        """
        The settings used.
        """
    @property
    def dim(self) -> int:
        ...
    @property
    def encoder(self) -> str:
        ...
    @property
    def missing_knowledge_signals(self) -> int:
        ...
    @property
    def no_relevant_signals(self) -> int:
        ...
    @property
    def now_ms(self) -> int:
        """
        Reference time of the recency weights.
        """
    @property
    def signals(self) -> int:
        """
        Gap signals read.
        """
    @property
    def watermark(self) -> int:
        """
        Largest annotation seq read: pass it as since= for the next report.
        """
class Reference:
    """
    One knowledge-base document handed to a generator, in rank order: doc_id (cited as '[doc_id]'), title, text, score (the ranking stage's, higher = more relevant).
    """
    __hash__: typing.ClassVar[None] = None
    doc_id: str
    text: str
    title: str
    @staticmethod
    def from_dict(d: dict) -> Reference:
        """
        A Reference from {'doc_id', 'title', 'text', 'score'} (doc_id required). Raises ConfigError for unknown keys or wrong types.
        """
    def __eq__(self, arg0: Reference) -> bool:
        ...
    def __getstate__(self) -> tuple[str, str, str, float]:
        ...
    def __init__(self, doc_id: str, title: str = '', text: str = '', score: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {'doc_id', 'title', 'text', 'score'}.
        """
    @property
    def score(self) -> float:
        ...
    @score.setter
    def score(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class GeneratedReply:
    """
    A generated reply: text (with '[doc_id]' citation markers), citations (the doc ids of the given references it cites, in order of first use), variant (what made it).
    """
    __hash__: typing.ClassVar[None] = None
    text: str
    variant: str
    def __eq__(self, arg0: GeneratedReply) -> bool:
        ...
    def __init__(self, text: str = '', citations: collections.abc.Sequence[str] = [], variant: str = '') -> None:
        ...
    def __repr__(self) -> str:
        ...
    def to_dict(self) -> dict[str, typing.Any]:
        """
        {'text', 'citations', 'variant'}.
        """
    @property
    def citations(self) -> list[str]:
        ...
    @citations.setter
    def citations(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
class ExtractiveGenerator:
    """
    Offline grounded generator: quotes the most relevant sentences of the top references (BM25 over their sentences with the reference's rank as a prior) and cites each reference used as '[doc_id]' after its sentences. Variants 'top' (first 2 references, by relevance) and 'coverage' (first 4, MMR redundancy penalty) by default. Deterministic; with no references the reply is the config's 'fallback' and cites nothing.
    """
    def __init__(self, config: typing.Any = None) -> None:
        """
        config: dict {'variants': [{'name', 'references', 'strategy' ('relevance' | 'mmr'), 'max_sentences', 'max_words', 'rank_prior', 'redundancy', 'min_relevance'}, ...], 'context_weight', 'question_penalty', 'k1', 'b', 'max_sentences_per_reference', 'fallback', 'analyzer'} (missing keys take defaults; 'variants' replaces the default list). Raises ConfigError for unknown keys or values out of range.
        """
    def __repr__(self) -> str:
        ...
    def generate(self, query: str, refs: typing.Any, variant: str = 'top') -> GeneratedReply:
        """
        The reply of one variant as a GeneratedReply. query: the question (several lines: the last is the question, the ones before the conversation). refs: the references, best first, as Reference objects or dicts {'doc_id', 'title', 'text', 'score'}. Raises ConfigError for an unknown variant or a doc_id that cannot be cited (empty, whitespace or brackets).
        """
    @property
    def config(self) -> dict[str, typing.Any]:
        """
        The settings as a dict.
        """
    @property
    def variants(self) -> list[str]:
        """
        The variant names, in config order.
        """
class CallbackGenerator:
    """
    A generator that calls a Python function, e.g. a prompt to any LLM: fn(query: str, refs: list[Reference], variant: str) -> str. The reply's citations are the '[doc_id]' markers of the returned text that name one of the given references. The function is called with the GIL held, also from C++ threads.
    """
    def __init__(self, fn: collections.abc.Callable, variants: collections.abc.Sequence[str] = ['default']) -> None:
        """
        fn(query, refs, variant) -> str; variants: the names it accepts (non-empty, unique). Raises ConfigError for invalid variant names.
        """
    def __repr__(self) -> str:
        ...
    def generate(self, query: str, refs: typing.Any, variant: typing.Any = None) -> GeneratedReply:
        """
        Calls fn and returns a GeneratedReply. refs: the references, best first, as Reference objects or dicts {'doc_id', 'title', 'text', 'score'}. variant: None = the first declared one. Raises ConfigError for an undeclared variant, TypeError when fn does not return a str, and whatever fn raises.
        """
    @property
    def variants(self) -> list[str]:
        """
        The declared variant names.
        """
class RewardSelectedGenerator:
    """
    Best-of-N: generates several variants of another generator and serves the one the reward model scores highest. variants = [name] + the generator's variants; generating `name` ('best') picks among `candidates`, any other variant is passed through.
    """
    def __init__(self, generator: typing.Any, reward_model: typing.Any, candidates: typing.Any = None, name: str = 'best') -> None:
        """
        generator: ExtractiveGenerator, CallbackGenerator or RewardSelectedGenerator; reward_model: RewardModel (held by reference: retraining it changes later choices); candidates: the variants to choose among (None: all the generator's). Raises ConfigError for an unknown or repeated candidate or a name the generator already uses, TypeError for other types.
        """
    def __repr__(self) -> str:
        ...
    def generate(self, query: str, refs: typing.Any, variant: str = 'best') -> GeneratedReply:
        """
        The best-scored candidate's reply (its variant is the candidate's) for variant == name, else the generator's reply. refs: the references, best first, as Reference objects or dicts {'doc_id', 'title', 'text', 'score'}. Raises ConfigError for an unknown variant.
        """
    def generate_all(self, query: str, refs: typing.Any) -> list[tuple[GeneratedReply, float]]:
        """
        Every candidate's (GeneratedReply, reward) in candidates order. refs: the references, best first, as Reference objects or dicts {'doc_id', 'title', 'text', 'score'}.
        """
    @property
    def candidates(self) -> list[str]:
        """
        The variants chosen among.
        """
    @property
    def name(self) -> str:
        """
        The best-of-N variant name.
        """
    @property
    def variants(self) -> list[str]:
        """
        [name] + the generator's variants.
        """
class ServingIndex:
    """
    Blue/green dense index: searches use the active index; rebuild() re-embeds every document with a new encoder into a new HNSW index while the active one keeps serving, checks its recall@k against exact search on a sample, publishes it to a registry folder (optional) and switches atomically. Searches in flight finish on the index they started with. Thread-safe.
    """
    @staticmethod
    def default_config() -> dict[str, typing.Any]:
        """
        The default rebuild settings (the keywords rebuild() accepts) as a dict.
        """
    @staticmethod
    def load(registry: typing.Any, version: str | None = None, encoder: typing.Any = None) -> ServingIndex:
        """
        A new ServingIndex serving `version` of the registry (its champion when None); see open().
        """
    def __init__(self) -> None:
        """
        An empty serving index (no active index).
        """
    def __len__(self) -> int:
        """
        Documents in the active index (0 when none).
        """
    def __repr__(self) -> str:
        ...
    def open(self, registry: typing.Any, version: str | None = None, encoder: typing.Any = None) -> str:
        """
        Loads `version` of the registry (its champion when None) after checking its files against the manifest, switches to it atomically and returns the version. The encoder is read from the version's encoder.bin when None. Raises NotFoundError (no champion, unknown version), IoError (files that do not verify), DimensionError (an encoder that does not fit).
        """
    def rebuild(self, kb: typing.Any, encoder: typing.Any, registry: typing.Any = None, queries: collections.abc.Sequence[str] | None = None, progress: typing.Any = None, **kwargs) -> dict[str, typing.Any]:
        """
        Re-embeds every document of `kb` (a KnowledgeBase or Documents) with `encoder` (a HashedEncoder, copied; a CallbackEncoder; or an object with .dim and .encode), builds a new HNSW index while the active one keeps serving, and measures its recall@k against exact search on a seeded sample of `queries` (texts; document texts when None). Only when recall >= min_recall: publishes index files, ids and the encoder (HashedEncoder only) to `registry` (a folder path or registry object; None = in memory) as a new promoted version, and switches. `progress(stage, done, total)` is called for 'embed', 'build', 'check', 'publish'. Settings as keywords: sample=200, k=10, min_recall=0.9, hnsw={M, ef_construction, ef, metric, seed, compact_search, max_elements}, seed=42, threads=0, batch_size=256, staging_dir=''. Returns the report dict: switched, reason, version, recall, sample, k, min_recall, documents, dim, seconds_embed, seconds_build, seconds_check, seconds_publish. Raises ConfigError for an invalid setting or duplicate document ids; IoError when publishing fails (the active index stays).
        """
    def search(self, query: str, k: typing.SupportsInt | typing.SupportsIndex = 10) -> list[Hit]:
        """
        The k best documents of the active index, best first (list[Hit]). Raises StateError when there is no active index, ConfigError when k <= 0.
        """
    def search_batch(self, queries: collections.abc.Sequence[str], k: typing.SupportsInt | typing.SupportsIndex = 10, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list[list[Hit]]:
        """
        search() for every query on one snapshot of the active index (list[list[Hit]]), on `threads` threads (0 = all).
        """
    @property
    def dim(self) -> int | None:
        """
        The active index's vector dimension; None when there is none.
        """
    @property
    def version(self) -> str | None:
        """
        The active version (registry id such as 'v000003', or 'memory-N'); None when there is none.
        """
class Pipeline:
    """
    The serving loop: retrieve the top k (75) documents, rerank them to the top n (8) shown, generate the champion and the challenger replies (A and B) on randomised screen sides, log the impression in the store and return it; record() stores the agent's annotations, validated against the stored impression.
    
    Pipeline(kb, store, retriever="bm25", encoder=None, reranker=None, generator=None, k=75, n=8, seed=0, champion_variant="top", challenger_variant="coverage", randomise_positions=True, models=None)
    
    - store: a SqliteStore (shared) or a path (a SqliteStore is opened there).
    - retriever: "bm25", "dense" or "hybrid" (BM25 + dense, RRF) built over kb; "dense"/"hybrid" need encoder: a callable(list[str]) -> float array (n, dim) (e.g. a sentence-transformers model's encode), an object with .dim and .encode, a HashedEncoder or a CallbackEncoder. Or a BM25, DenseRetriever or HybridRetriever object, any object with .search(query, k), or a callable(query, k) -> list of Hit or (doc_id, score).
    - reranker: None (keep the first-stage order), a FeatureRanker (shared: fit it before), an object with .rerank(query, hits, k), or a callable(query, hits) -> hits (Hit or (doc_id, score), best first; the pipeline keeps the first n).
    - generator: None (ExtractiveGenerator()), an ExtractiveGenerator or CallbackGenerator, an object with .generate(query, refs, variant) and .variants, or a callable(query, refs: list[Reference], variant) -> str. The query it gets is the conversation: context turns, then the query, one per line.
    - models: role -> version logged with every impression; roles not given get "<kind>@0".
    
    Impression ids are 'imp-' + 16 hex digits hashed from (seed, case, serial number); reply A is on the left when a seeded hash of the id is even, so sides are reproducible per seed. Thread safety: suggest, suggest_many, record and the setters may be called from several threads (the GIL is released while serving); a setter applies to the suggestions that start after it. Raises ConfigError for invalid settings or components, TypeError for a store that is not a SqliteStore or path.
    """
    def __init__(self, kb: typing.Any, store: typing.Any, retriever: typing.Any = 'bm25', encoder: typing.Any = None, reranker: typing.Any = None, generator: typing.Any = None, k: typing.SupportsInt | typing.SupportsIndex = 75, n: typing.SupportsInt | typing.SupportsIndex = 8, seed: typing.SupportsInt | typing.SupportsIndex = 0, champion_variant: str = 'top', challenger_variant: str = 'coverage', randomise_positions: bool = True, models: typing.Any = None) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def draft(self, case_id: str, query: str, context: collections.abc.Sequence[str] = [], turn: typing.SupportsInt | typing.SupportsIndex = 0, timestamp_ms: typing.SupportsInt | typing.SupportsIndex = 0) -> Impression:
        """
        The Impression suggest() would log, without storing it.
        """
    def record(self, annotation: typing.Any) -> typing.Any:
        """
        Validates an Annotation (or its dict) against its stored impression and stores it: its id. A list is stored in one transaction (all or none): the ids. Raises NotFoundError for an unknown impression, ConfigError naming the field (e.g. a relevance label of a reference that was not shown); nothing is stored then.
        """
    def set_generator(self, generator: typing.Any, version: str = '') -> None:
        """
        Serves later suggestions with this generator; a non-empty version becomes models['generator']. Raises ConfigError when it lacks the champion or challenger variant.
        """
    def set_model(self, role: str, version: str) -> None:
        """
        Sets one role's version.
        """
    def set_models(self, models: collections.abc.Mapping[str, str]) -> None:
        """
        Replaces the role -> version map logged with later impressions.
        """
    def set_reranker(self, reranker: typing.Any, version: str = '') -> None:
        """
        Serves later suggestions with this reranker (e.g. a newly promoted FeatureRanker); a non-empty version becomes models['reranker']. In-flight suggestions finish with the previous one.
        """
    def set_retriever(self, retriever: typing.Any, encoder: typing.Any = None, version: str = '') -> None:
        """
        Serves later suggestions with this retriever (as in the constructor); a non-empty version becomes models['retriever'].
        """
    def set_variants(self, champion: str, challenger: str) -> None:
        """
        The generator variants of reply A and reply B (e.g. after a promotion). Raises ConfigError when empty, equal or unknown to the generator.
        """
    def suggest(self, case_id: str, query: str, context: collections.abc.Sequence[str] = [], turn: typing.SupportsInt | typing.SupportsIndex = 0, timestamp_ms: typing.SupportsInt | typing.SupportsIndex = 0, impression_id: str = '') -> Impression:
        """
        Serves one case and logs it: the Impression as stored (seq stays 0). context: earlier turns; timestamp_ms 0 = now; impression_id '' = derived. Raises ConfigError for an empty case_id or query, a negative timestamp or an invalid impression (e.g. a reranker returning a document it was not given); nothing is stored then.
        """
    def suggest_many(self, cases: collections.abc.Iterable, threads: typing.SupportsInt | typing.SupportsIndex = 1) -> list[Impression]:
        """
        Serves many cases (dicts {case_id, query, context, turn, timestamp_ms, impression_id} or (case_id, query) tuples) on `threads` threads (0 = all) and logs them in one transaction: list[Impression], in order. On any error nothing is stored.
        """
    @property
    def config(self) -> dict[str, typing.Any]:
        """
        The settings as a dict {k, n, champion_variant, challenger_variant, seed, randomise_positions, models}.
        """
    @property
    def generator(self) -> typing.Any:
        """
        The generator object given (None for the default ExtractiveGenerator).
        """
    @property
    def kb(self) -> typing.Any:
        """
        The KnowledgeBase.
        """
    @property
    def reranker(self) -> typing.Any:
        """
        The reranker object given (None for the identity).
        """
    @property
    def retriever(self) -> typing.Any:
        """
        The retriever object given (None for a kind built by the pipeline).
        """
    @property
    def store(self) -> typing.Any:
        """
        The SqliteStore impressions are logged in.
        """
def citation_markers(text: str) -> list[str]:
    """
    The distinct ids of the '[doc_id]' markers of a text (no whitespace or brackets inside), in order of first appearance.
    """
def compile_preferences(store: typing.Any, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, until_seq: typing.SupportsInt | typing.SupportsIndex = 0, min_weight: typing.SupportsFloat | typing.SupportsIndex = 0.0, strength_weights: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"] = [1.0, 2.0, 3.0], keep_ties: bool = False, both_bad_as_kto_negatives: bool = True, models: collections.abc.Mapping[str, str] = {}) -> PreferenceData:
    """
    Preference pairs and KTO examples. Preference a/b: chosen = that reply, weight = annotation weight x strength_weights[slight, clear, strong]; tie: dropped, or two pairs of weight 0.5 (keep_ties); both_bad: two KTO negatives (both_bad_as_kto_negatives). Adoption: used_as_is -> KTO positive, not_used -> KTO negative, used_with_edits -> pair (final text over the suggestion). store: a SqliteStore or the path of one (opened read-only). Reads the annotations with after_seq < seq <= until_seq (until_seq 0: no bound), ignoring those whose weight is 0 or below min_weight; several annotators of an impression are merged by weighted majority. models: {role: version}: only feedback on impressions whose models[role] equal these (e.g. {"retriever": "bm25+dense+ranker@v000004"}); empty: all.
    """
def compile_qrels(store: typing.Any, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, until_seq: typing.SupportsInt | typing.SupportsIndex = 0, min_weight: typing.SupportsFloat | typing.SupportsIndex = 0.0, models: collections.abc.Mapping[str, str] = {}) -> FeedbackQrels:
    """
    Qrels from relevance feedback, by weighted majority per case (hand-selected = relevant). store: a SqliteStore or the path of one (opened read-only). Reads the annotations with after_seq < seq <= until_seq (until_seq 0: no bound), ignoring those whose weight is 0 or below min_weight; several annotators of an impression are merged by weighted majority. models: {role: version}: only feedback on impressions whose models[role] equal these (e.g. {"retriever": "bm25+dense+ranker@v000004"}); empty: all.
    """
def compile_rerank(store: typing.Any, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, until_seq: typing.SupportsInt | typing.SupportsIndex = 0, min_weight: typing.SupportsFloat | typing.SupportsIndex = 0.0, models: collections.abc.Mapping[str, str] = {}) -> list[RerankList]:
    """
    Rerank lists, one per impression with relevance feedback. store: a SqliteStore or the path of one (opened read-only). Reads the annotations with after_seq < seq <= until_seq (until_seq 0: no bound), ignoring those whose weight is 0 or below min_weight; several annotators of an impression are merged by weighted majority. models: {role: version}: only feedback on impressions whose models[role] equal these (e.g. {"retriever": "bm25+dense+ranker@v000004"}); empty: all.
    """
def compile_retrieval(store: typing.Any, after_seq: typing.SupportsInt | typing.SupportsIndex = 0, until_seq: typing.SupportsInt | typing.SupportsIndex = 0, min_weight: typing.SupportsFloat | typing.SupportsIndex = 0.0, models: collections.abc.Mapping[str, str] = {}) -> list[RetrievalExample]:
    """
    Retrieval examples, one per distinct query text (repeated queries merged): positives, hard negatives, weight (mean annotation weight), timestamp_ms (latest annotation). Queries without a positive are left out. store: a SqliteStore or the path of one (opened read-only). Reads the annotations with after_seq < seq <= until_seq (until_seq 0: no bound), ignoring those whose weight is 0 or below min_weight; several annotators of an impression are merged by weighted majority. models: {role: version}: only feedback on impressions whose models[role] equal these (e.g. {"retriever": "bm25+dense+ranker@v000004"}); empty: all.
    """
def default_metrics() -> list[str]:
    """
    The default metric names of evaluate(): recall@8, recall@10, recall@75, precision@8, precision@10, precision@75, ndcg@10, mrr@10, map, hit_rate@10.
    """
def english_stopwords() -> list[str]:
    """
    The English stop list (Snowball's, 174 words), sorted.
    """
def escape_html(text: bytes | str) -> str:
    """
    Escapes untrusted text (str, or bytes read as UTF-8) for HTML element content and quoted attribute values: & < > " ' as entities, invalid UTF-8 -> U+FFFD, control characters other than tab/LF/CR -> space.
    """
def escape_markdown(text: bytes | str) -> str:
    """
    Escapes untrusted text (str, or bytes read as UTF-8) for inline Markdown: one line, inert as Markdown and once rendered to HTML (no HTML, link, image, autolink, heading, list, code span, emphasis or table-cell break). Invalid UTF-8 -> U+FFFD, control characters -> space, leading/trailing spaces dropped, & < > as entities, Markdown punctuation backslash-escaped (see text/escape.hpp). Every aitl Markdown report uses it.
    """
def evaluate(qrels: typing.Any, run: typing.Any, metrics: collections.abc.Sequence[str] = ['recall@8', 'recall@10', 'recall@75', 'precision@8', 'precision@10', 'precision@75', 'ndcg@10', 'mrr@10', 'map', 'hit_rate@10'], relevance_level: typing.SupportsInt | typing.SupportsIndex = 1, average_complete: bool = False) -> Evaluation:
    """
    Evaluate a run against qrels with trec_eval's definitions.
    
    qrels: dict[query id, dict[doc id, int grade]]; run: dict[query id, list[Hit] | dict[doc id, score]]
    (lists may also hold (id, score) pairs). Hits are ranked by score descending, ties by doc id in
    decreasing byte order (trec_eval); a doc listed twice for one judged query raises ConfigError.
    Metrics: recall@k, precision@k, ndcg@k, ndcg, mrr@k, mrr, map, map@k, hit_rate@k. Queries in both
    run and qrels are evaluated; means are over them (or over every judged query, missing ones as 0,
    with average_complete=True, trec_eval -c). A grade >= relevance_level is relevant; nDCG gains are
    the grades. Raises ConfigError on a bad metric name, k <= 0, relevance_level < 1, NaN scores.
    """
def format_citation(doc_id: str) -> str:
    """
    '[' + doc_id + ']'. Raises ConfigError for an id that cannot be a marker (empty, whitespace, brackets).
    """
def fuse_rrf(lists: collections.abc.Sequence[typing.Any], weights: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex] = [], k: typing.SupportsInt | typing.SupportsIndex = 100, rrf_k: typing.SupportsFloat | typing.SupportsIndex = 60.0) -> list[Hit]:
    """
    Weighted reciprocal rank fusion of ranked lists (Hits or (id, score) pairs, best first): a document scores sum(weight / (rrf_k + rank)); the k best, ties by smaller id. weights: one per list (default all 1).
    """
def gap_report(store: typing.Any, encoder: typing.Any = None, config: typing.Any = None, **kwargs) -> GapReport:
    """
    Knowledge-gap report of a SqliteStore.
    
    Gap signals: impressions with a missing-knowledge flag (text: query + descriptions) or whose knowledge-relevance annotations mark no shown reference relevant and select none by hand (text: query). They are embedded with `encoder` (None: the default HashedEncoder; a HashedEncoder; or any object with .encode(list[str]) -> (n, dim) floats, or such a function, e.g. aitl.minilm.MiniLMEncoder()), centred, clustered (leader pass, then average-link merging by cosine) and ranked by score = sum of weight * 0.5^(age / half-life).
    
    Settings (dict and/or keywords): since (annotation seq watermark, 0), min_cluster_size (2), similarity_threshold (0.15), leader_threshold (0.7), max_clusters (10, 0 = all), half_life_days (7), now_ms (0 = newest signal), include_no_relevant (True), no_relevant_weight (0.25), center (True), representatives (3), top_terms (8), include_members (True), batch_size (256).
    
    Raises ConfigError for unknown or invalid settings, TypeError when store is not a SqliteStore, DimensionError when the encoder returns the wrong shape.
    """
def gate(champion: typing.Any, challenger: typing.Any, config: typing.Any = None) -> GateDecision:
    """
    Gated promotion: whether ``challenger`` replaces ``champion``.
    
    Each argument: {"fresh": {metric: per-query scores}, "guard": {metric: per-query scores}}
    (lists or numpy arrays; the same queries in the same order for every metric and both systems).
    config: GateConfig, its dict form or None (defaults). Rejected when too few queries, when a
    primary metric is significantly worse on fresh, when a guard metric fell by more than its
    tolerance, or when the primary metrics are not significantly better (all or any).
    Raises ConfigError (bad config, missing metric), DimensionError (lengths differ, NaN).
    """
def make_references(kb: KnowledgeBase, hits_or_doc_ids: collections.abc.Iterable) -> list[Reference]:
    """
    References for a generator from a KnowledgeBase: items are doc ids (score 0), Hits or (id, score) tuples, best first. Raises NotFoundError for an id not in the knowledge base.
    """
def mine_negatives(examples: list, retriever: typing.Any, k: typing.SupportsInt | typing.SupportsIndex = 30, n: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    Sets each RetrievalExample's mined_negatives (in place) to up to n of the retriever's top-k hits for its query that are neither a positive nor a hard negative, best first (aitl::mine_negatives). retriever: BM25 or any retriever a Pipeline takes. Raises ConfigError when k < 1 or n < 0.
    """
def paired_test(base: typing.Any, challenger: typing.Any, method: str = 'permutation', rounds: typing.SupportsInt | typing.SupportsIndex = 10000, seed: typing.SupportsInt | typing.SupportsIndex = 0, confidence: typing.SupportsFloat | typing.SupportsIndex = 0.95, exact_max: typing.SupportsInt | typing.SupportsIndex = 16) -> dict[str, typing.Any]:
    """
    Paired test of two systems' per-query scores (same queries, same order; lists or numpy arrays).
    
    method "permutation": two-sided sign-flip test, exact over all sign patterns when at most
    ``exact_max`` differences are non-zero, else ``rounds`` random patterns; interval = normal
    approximation. method "bootstrap": percentile interval of the mean difference over ``rounds``
    resamples and a bootstrap p-value. Deterministic for a seed.
    
    Returns {mean_base, mean_challenger, mean_diff, ci_low, ci_high, p_value, n, ties, method,
    exact, rounds, confidence} (diff = challenger - base; n = 0 gives p_value 1).
    Raises DimensionError (lengths differ, NaN/inf), ConfigError (bad method/rounds/confidence).
    """
def parse_json(text: typing.Any, file: str = '<string>', line: typing.SupportsInt | typing.SupportsIndex = 0) -> typing.Any:
    """
    Parse one JSON value (str or bytes; a UTF-8 BOM is skipped) the way every aitl loader does. Raises ParseError (.file, .line, .field) naming the byte offset for invalid UTF-8, nesting deeper than json_max_depth, or a syntax error; with line=0 the error names the line of the offending byte.
    """
def read_qrels(path: os.PathLike | str | bytes) -> dict[str, dict[str, int]]:
    """
    Read BEIR qrels TSV (query-id corpus-id score, header) or TREC qrels (qid iter docid rel) -> dict[str, dict[str, int]]. Raises IoError (missing file), ParseError (.file, .line, .field).
    """
def read_queries(path: typing.Any, text_key: str = 'text') -> list[tuple[str, str]]:
    """
    Read a BEIR queries.jsonl ({"_id": id, text_key: text} per line) -> list of (id, text) in file order. Raises IoError (missing file), ParseError (.file, .line, .field) for a bad line, a missing or non-string id or text, a duplicate id, non-UTF-8 bytes or nesting deeper than json_max_depth.
    """
def read_trec_run(path: os.PathLike | str | bytes) -> dict:
    """
    Read a TREC run file (qid Q0 docid rank score tag) -> dict[str, list[Hit]], each list in trec_eval's order (score descending, ties by doc id descending; the rank column is ignored). Raises IoError, ParseError (.file, .line, .field; also on a duplicate doc for one query).
    """
def reward_references(refs: collections.abc.Sequence[Reference]) -> list[str]:
    """
    References as a reward model reads them (RewardModel.score / choose / train): '[doc_id] title\\ntext' ('[doc_id] text' without a title), the form RewardSelectedGenerator gives it.
    """
def sign_test(wins: typing.SupportsInt | typing.SupportsIndex, losses: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    Exact two-sided binomial sign test of win/loss counts (ties left out): min(1, 2 P(X <= min(wins, losses))), X ~ Binomial(wins + losses, 1/2); 1.0 for 0, 0. Raises ConfigError on a negative count.
    """
def split_sentences(text: str) -> list[str]:
    """
    The sentences of a text: ends after '.', '!' or '?' followed by whitespace (not after abbreviations such as 'e.g.' or initials, not inside '4.95'), after CJK full stops, and at line breaks; trimmed.
    """
def strip_citations(text: str) -> str:
    """
    The text without its '[doc_id]' markers, whitespace collapsed.
    """
@typing.overload
def time_split(items: collections.abc.Sequence[RetrievalExample], validation_fraction: typing.SupportsFloat | typing.SupportsIndex) -> tuple[list[RetrievalExample], list[RetrievalExample]]:
    """
    Split compiled items (a list of RetrievalExample, RerankList, PreferencePair or KtoExample) by timestamp_ms into (train, validation): every training item is strictly earlier than every validation item (items sharing the boundary time go to validation). Raises ConfigError unless 0 <= validation_fraction <= 1.
    """
@typing.overload
def time_split(items: collections.abc.Sequence[RerankList], validation_fraction: typing.SupportsFloat | typing.SupportsIndex) -> tuple[list[RerankList], list[RerankList]]:
    ...
@typing.overload
def time_split(items: collections.abc.Sequence[PreferencePair], validation_fraction: typing.SupportsFloat | typing.SupportsIndex) -> tuple[list[PreferencePair], list[PreferencePair]]:
    ...
@typing.overload
def time_split(items: collections.abc.Sequence[KtoExample], validation_fraction: typing.SupportsFloat | typing.SupportsIndex) -> tuple[list[KtoExample], list[KtoExample]]:
    ...
def tokenize(text: str) -> list[str]:
    """
    Splits text into word tokens (case kept, UTF-8 safe): runs of letters/digits of any script; apostrophes inside words and '.'/',' between digits are kept; emoji and punctuation separate.
    """
def train_encoder(encoder: HashedEncoder, train: typing.Any, validation: typing.Any = None, config: typing.Any = None, progress: typing.Any = None, **kwargs) -> tuple:
    """
    Trains a copy of `encoder` (settings as in EncoderTrainer); returns (trained HashedEncoder, summary dict).
    """
def write_qrels(path: os.PathLike | str | bytes, qrels: typing.Any, format: str = 'beir') -> None:
    """
    Write qrels as BEIR TSV (with header) or TREC qrels (format='trec').
    """
def write_trec_run(path: os.PathLike | str | bytes, run: typing.Any, tag: str = 'aitl') -> None:
    """
    Write a run (dict[str, list[Hit] | dict[str, float]]) as a TREC run file: lines 'qid Q0 docid rank score tag', each query in trec_eval's order with ranks 1, 2, ...; a query with no hit writes nothing. Raises ConfigError on ids or tag with whitespace, NaN, duplicates.
    """
__version__: str = '0.1.0'
json_max_depth: int = 128
