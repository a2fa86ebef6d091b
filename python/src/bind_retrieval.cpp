// Python bindings of the dense side of retrieval/: ExactIndex, HnswIndex, CallbackEncoder,
// DenseRetriever, HybridRetriever. This is the only translation unit of the module that
// includes retrieval/hnsw.hpp (hnswlib 0.6.2 defines non-inline functions in its headers).
//
// numpy in: float32 C-contiguous arrays are used in place (other dtypes/layouts are converted
// once); numpy out: results are moved into arrays that own the C++ buffers (no copy). The GIL
// is released during indexing and search; encoders written in Python take it back inside.
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/callback_encoder.hpp>
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/retrieval/hnsw.hpp>
#include <aitl/retrieval/fused.hpp>
#include <aitl/retrieval/hybrid.hpp>
#include <aitl/retrieval/reranked.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "py_slots.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using float_array = py::array_t<float, py::array::c_style | py::array::forcecast>;
using label_array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

std::size_t positive(py::ssize_t v, const char* where, const char* what) {
    if (v <= 0)
        throw config_error(std::string(where) + ": " + what + " must be positive (got " + std::to_string(v) +
                           ", expected " + what + " >= 1)");
    return static_cast<std::size_t>(v);
}

std::size_t threads_arg(py::ssize_t v, const char* where) {
    if (v < 0)
        throw config_error(std::string(where) + ": threads must not be negative (got " + std::to_string(v) +
                           ", expected 0 for all hardware threads or a count)");
    return static_cast<std::size_t>(v);
}

std::string path_arg(const py::object& path) { return py::str(py::module_::import("os").attr("fspath")(path)); }

// A (rows x cols) view of a 1-D (one vector) or 2-D float32 array.
Eigen::Map<const row_matrix> as_rows(const float_array& a, const char* where) {
    if (a.ndim() == 1) return {a.data(), 1, static_cast<Eigen::Index>(a.shape(0))};
    if (a.ndim() == 2)
        return {a.data(), static_cast<Eigen::Index>(a.shape(0)), static_cast<Eigen::Index>(a.shape(1))};
    throw dimension_error(std::string(where) + ": expected a 1-D or 2-D array (got " + std::to_string(a.ndim()) +
                          " dimensions, expected 1 or 2)");
}

std::vector<label_t> labels_arg(const py::object& labels, const char* where) {
    std::vector<label_t> out;
    auto push = [&](std::int64_t l) {
        if (l < 0)
            throw config_error(std::string(where) + ": label out of range (got " + std::to_string(l) +
                               ", expected 0 <= label < 2^63)");
        out.push_back(static_cast<label_t>(l));
    };
    if (py::isinstance<py::int_>(labels)) {
        push(labels.cast<std::int64_t>());
        return out;
    }
    const label_array a = label_array::ensure(labels);
    if (!a) throw config_error(std::string(where) + ": labels must be integers (got " +
                               type_name(labels) + ", expected an int array)");
    if (a.ndim() > 1)
        throw dimension_error(std::string(where) + ": labels must be 1-D (got " + std::to_string(a.ndim()) +
                              " dimensions, expected 1)");
    out.reserve(static_cast<std::size_t>(a.size()));
    for (py::ssize_t i = 0; i < a.size(); ++i) push(a.data()[i]);
    return out;
}

// Moves an Eigen matrix into a numpy array that owns it.
template <class Matrix>
py::array to_numpy(Matrix&& m, bool one_row) {
    using M = std::decay_t<Matrix>;
    using T = typename M::Scalar;
    auto* heap = new M(std::forward<Matrix>(m));
    py::capsule owner(heap, [](void* p) { delete static_cast<M*>(p); });
    if (one_row) return py::array_t<T>({heap->cols()}, {static_cast<py::ssize_t>(sizeof(T))}, heap->data(), owner);
    return py::array_t<T>({heap->rows(), heap->cols()},
                          {static_cast<py::ssize_t>(sizeof(T)) * heap->cols(), static_cast<py::ssize_t>(sizeof(T))},
                          heap->data(), owner);
}

py::tuple result_tuple(knn_result r, bool one_row) {
    return py::make_tuple(to_numpy(std::move(r.labels), one_row), to_numpy(std::move(r.scores), one_row));
}

// ------------------------------------------------------------------------------------------
// Encoders
// ------------------------------------------------------------------------------------------

// ------------------------------------------------------------------------------------------
// DenseRetriever: one of two instantiations chosen at run time.
// ------------------------------------------------------------------------------------------

class py_dense {
public:
    using exact_type = dense_retriever<callback_encoder, exact_index>;
    using hnsw_type = dense_retriever<callback_encoder, hnsw_index>;

    py_dense(const callback_encoder& enc, const std::string& index, similarity m, const hnsw_config& cfg,
             std::size_t batch_size, shared_object encoder_object)
        : impl_(make(enc, index, m, cfg, batch_size)), encoder_(std::move(encoder_object)) {}

    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit(std::forward<F>(f), impl_);
    }
    template <class F>
    decltype(auto) visit(F&& f) {
        return std::visit(std::forward<F>(f), impl_);
    }

    hits search(std::string_view q, std::size_t k) const {
        return visit([&](const auto& d) { return d.search(q, k); });
    }
    std::vector<hits> search_batch(const std::vector<std::string>& qs, std::size_t k, std::size_t threads) const {
        return visit([&](const auto& d) { return d.search_batch(qs, k, threads); });
    }
    bool is_hnsw() const { return std::holds_alternative<hnsw_type>(impl_); }
    hnsw_index& hnsw() {
        if (!is_hnsw()) throw state_error("DenseRetriever.ef: only an hnsw index has ef (got index \"exact\", expected \"hnsw\")");
        return std::get<hnsw_type>(impl_).index();
    }
    const py::object& encoder() const { return *encoder_; }

private:
    static std::variant<exact_type, hnsw_type> make(const callback_encoder& enc, const std::string& index, similarity m,
                                                    hnsw_config cfg, std::size_t batch_size) {
        if (index == "exact")
            return std::variant<exact_type, hnsw_type>(std::in_place_type<exact_type>, enc, exact_index(enc.dim(), m),
                                                       batch_size);
        if (index == "hnsw") {
            cfg.dim = enc.dim();
            cfg.metric = m;
            return std::variant<exact_type, hnsw_type>(std::in_place_type<hnsw_type>, enc, hnsw_index(cfg), batch_size);
        }
        throw config_error("DenseRetriever: unknown index (got \"" + index + "\", expected \"exact\" or \"hnsw\")");
    }

    std::variant<exact_type, hnsw_type> impl_;
    shared_object encoder_;
};

// ------------------------------------------------------------------------------------------
// HybridRetriever over any two retrievers.
// ------------------------------------------------------------------------------------------

class py_hybrid {
public:
    py_hybrid(any_retriever a, any_retriever b, const fusion_config& cfg, shared_object first, shared_object second)
        : h_(std::move(a), std::move(b), cfg), first_(std::move(first)), second_(std::move(second)) {}
    hits search(std::string_view q, std::size_t k) const { return h_.search(q, k); }
    std::vector<hits> search_batch(const std::vector<std::string>& qs, std::size_t k, std::size_t threads) const {
        return h_.search_batch(qs, k, threads);
    }
    const fusion_config& config() const { return h_.config(); }
    const py::object& first() const { return *first_; }
    const py::object& second() const { return *second_; }

private:
    hybrid<any_retriever, any_retriever> h_;
    shared_object first_, second_;
};

any_retriever retriever_arg(const py::object& obj, const char* where) { return retriever_from_py(obj, where); }

// Composed retrievers: the C++ composition, plus the Python objects it was made of (for the
// properties; the C++ parts already share them).
struct py_fused {
    fused impl;
    std::vector<py::object> parts;
    hits search(std::string_view q, std::size_t k) const { return impl.search(q, k); }
    std::vector<hits> search_batch(const std::vector<std::string>& qs, std::size_t k, std::size_t threads) const {
        return impl.search_batch(qs, k, threads);
    }
};
struct py_reranked {
    reranked<any_retriever, py_reranker> impl;
    py::object retriever, reranker;
    hits search(std::string_view q, std::size_t k) const { return impl.search(q, k); }
    std::vector<hits> search_batch(const std::vector<std::string>& qs, std::size_t k, std::size_t threads) const {
        return impl.search_batch(qs, k, threads);
    }
};
struct py_filtered {
    filtered<any_retriever> impl;
    py::object retriever;
    hits search(std::string_view q, std::size_t k) const { return impl.search(q, k); }
    std::vector<hits> search_batch(const std::vector<std::string>& qs, std::size_t k, std::size_t threads) const {
        return impl.search_batch(qs, k, threads);
    }
};

template <class Retriever>
void def_search(py::class_<Retriever, std::shared_ptr<Retriever>>& c, const char* name) {
    const std::string search_doc = std::string("The k best documents for `query`, best first (list[Hit]). ") +
                                   "Raises ConfigError when k <= 0.";
    c.def(
         "search",
         [name](const Retriever& self, const std::string& query, py::ssize_t k) {
             const std::size_t kk = positive(k, (std::string(name) + ".search").c_str(), "k");
             py::gil_scoped_release release;
             return self.search(query, kk);
         },
         "query"_a, "k"_a, search_doc.c_str())
        .def(
            "search_batch",
            [name](const Retriever& self, const std::vector<std::string>& queries, py::ssize_t k, py::ssize_t threads) {
                const std::string where = std::string(name) + ".search_batch";
                const std::size_t kk = positive(k, where.c_str(), "k");
                const std::size_t tt = threads_arg(threads, where.c_str());
                py::gil_scoped_release release;
                return self.search_batch(queries, kk, tt);
            },
            "queries"_a, "k"_a, "threads"_a = 0,
            "search() for every query (list[list[Hit]]), on `threads` threads (0 = all).");
}

// ------------------------------------------------------------------------------------------
// Index bindings shared by ExactIndex and HnswIndex.
// ------------------------------------------------------------------------------------------

template <class Index, class... Extra>
void def_index_common(py::class_<Index, Extra...>& c, const char* name) {
    const std::string n(name);
    c.def_property_readonly("dim", &Index::dim, "Vector dimension.")
        .def_property_readonly("metric", [](const Index& self) { return similarity_name(self.metric()); },
                               "\"ip\" or \"cosine\".")
        .def("__len__", &Index::size)
        .def("__contains__", [](const Index& self, std::int64_t label) {
            return label >= 0 && self.contains(static_cast<label_t>(label));
        })
        .def(
            "remove",
            [n](Index& self, std::int64_t label) {
                if (label < 0) throw not_found(n + ".remove: unknown label (got " + std::to_string(label) + ", expected a stored label)");
                py::gil_scoped_release release;
                self.remove(static_cast<label_t>(label));
            },
            "label"_a, "Removes a vector. Raises NotFoundError for an unknown label.")
        .def(
            "vector",
            [n](const Index& self, std::int64_t label) {
                if (label < 0) throw not_found(n + ".vector: unknown label (got " + std::to_string(label) + ", expected a stored label)");
                std::vector<float> v = self.vector(static_cast<label_t>(label));
                return py::array_t<float>(static_cast<py::ssize_t>(v.size()), v.data());
            },
            "label"_a, "The stored vector (normalised under cosine).")
        .def(
            "search",
            [n](const Index& self, const float_array& queries, py::ssize_t k, py::ssize_t threads) {
                const std::string where = n + ".search";
                const std::size_t kk = positive(k, where.c_str(), "k");
                const std::size_t tt = threads_arg(threads, where.c_str());
                const auto q = as_rows(queries, where.c_str());
                knn_result r;
                {
                    py::gil_scoped_release release;
                    r = self.search_batch(q, kk, tt);
                }
                return result_tuple(std::move(r), queries.ndim() == 1);
            },
            "queries"_a, "k"_a, "threads"_a = 0,
            "Nearest vectors of each query row: (labels int64 (n, m), scores float32 (n, m)) with "
            "m = min(k, max(len(index), 1)), best first, padded with -1 / -inf where fewer are found "
            "(a k larger than the index allocates nothing more). A 1-D query gives 1-D results. "
            "Raises ConfigError when k <= 0, DimensionError on a wrong width or NaN/inf.");
}

}  // namespace

void bind_retrieval(py::module_& m) {
    // ---------------------------------------------------------------- ExactIndex
    py::class_<exact_index> exact(m, "ExactIndex",
                                  "Exact inner-product / cosine index (blocked SIMD matrix product + partial top-k).\n\n"
                                  "ExactIndex(dim, metric=\"ip\"); metric \"ip\" or \"cosine\" (vectors normalised).");
    exact.def(py::init([](py::ssize_t dim, const std::string& metric) {
                  return exact_index(positive(dim, "ExactIndex", "dim"), parse_similarity(metric));
              }),
              "dim"_a, "metric"_a = "ip")
        .def(
            "add",
            [](exact_index& self, const py::object& labels, const float_array& vectors) {
                const std::vector<label_t> l = labels_arg(labels, "ExactIndex.add");
                const auto v = as_rows(vectors, "ExactIndex.add");
                py::gil_scoped_release release;
                self.add(l, v);
            },
            "labels"_a, "vectors"_a,
            "Adds vectors (n, dim) under labels (n,) (non-negative ints). Raises DimensionError on a wrong "
            "shape or NaN/inf, ConfigError on a duplicate label.");
    def_index_common(exact, "ExactIndex");

    // ---------------------------------------------------------------- HnswIndex
    py::class_<hnsw_index> hnsw(m, "HnswIndex",
                                "Approximate (HNSW, hnswlib) inner-product / cosine index with a vectorised distance.\n\n"
                                "HnswIndex(dim, metric=\"ip\", M=16, ef_construction=200, max_elements=1024, seed=100, "
                                "ef=100, compact_search=True); the capacity grows automatically; search uses "
                                "max(ef, k); compact_search traverses the graph with bfloat16 copies of the vectors "
                                "(half the memory traffic) and re-scores the candidates in float32.");
    hnsw.def(py::init([](py::ssize_t dim, const std::string& metric, py::ssize_t M, py::ssize_t ef_construction,
                         py::ssize_t max_elements, py::ssize_t seed, py::ssize_t ef, bool compact_search) {
                 hnsw_config c;
                 c.dim = positive(dim, "HnswIndex", "dim");
                 c.metric = parse_similarity(metric);
                 c.M = positive(M, "HnswIndex", "M");
                 c.ef_construction = positive(ef_construction, "HnswIndex", "ef_construction");
                 c.max_elements = positive(max_elements, "HnswIndex", "max_elements");
                 if (seed < 0) throw config_error("HnswIndex: seed must not be negative (got " + std::to_string(seed) + ", expected >= 0)");
                 c.seed = static_cast<std::size_t>(seed);
                 c.ef = positive(ef, "HnswIndex", "ef");
                 c.compact_search = compact_search;
                 return hnsw_index(c);
             }),
             "dim"_a, "metric"_a = "ip", "M"_a = 16, "ef_construction"_a = 200, "max_elements"_a = 1024, "seed"_a = 100,
             "ef"_a = 100, "compact_search"_a = true)
        .def(
            "add",
            [](hnsw_index& self, const py::object& labels, const float_array& vectors, py::ssize_t threads) {
                const std::vector<label_t> l = labels_arg(labels, "HnswIndex.add");
                const auto v = as_rows(vectors, "HnswIndex.add");
                const std::size_t t = threads_arg(threads, "HnswIndex.add");
                py::gil_scoped_release release;
                self.add(l, v, t);
            },
            "labels"_a, "vectors"_a, "threads"_a = 0,
            "Adds vectors (n, dim) under labels (n,) on `threads` threads (0 = all). Raises DimensionError on a "
            "wrong shape or NaN/inf, ConfigError on a duplicate label.")
        .def_property(
            "ef", &hnsw_index::ef,
            [](hnsw_index& self, py::ssize_t ef) { self.set_ef(positive(ef, "HnswIndex.ef", "ef")); },
            "Search-time candidate list size (search uses max(ef, k)).")
        .def_property_readonly("M", [](const hnsw_index& self) { return self.config().M; })
        .def_property_readonly("ef_construction", [](const hnsw_index& self) { return self.config().ef_construction; })
        .def_property_readonly("compact_search", [](const hnsw_index& self) { return self.config().compact_search; },
                               "Whether searches traverse bfloat16 copies (scores are re-computed in float32).")
        .def_property_readonly("max_elements", &hnsw_index::capacity, "Current capacity (grows automatically).")
        .def(
            "save", [](const hnsw_index& self, const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                self.save(p);
            },
            "path"_a, "Writes the index to `path` and its settings to `path + \".aitl.json\"`. Raises IoError.")
        .def_static(
            "load", [](const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                return hnsw_index::load(p);
            },
            "path"_a, "Loads an index written by save(). Raises IoError on a missing or corrupt file.");
    def_index_common(hnsw, "HnswIndex");

    // ---------------------------------------------------------------- CallbackEncoder
    py::class_<callback_encoder>(m, "CallbackEncoder",
                                 "Encoder calling fn(list[str]) -> array (n, dim); the shape and finiteness of "
                                 "what fn returns are checked (DimensionError).")
        .def(py::init([](py::object fn, py::ssize_t dim) {
                 if (!PyCallable_Check(fn.ptr()))
                     throw config_error("CallbackEncoder: fn is not callable (got " +
                                        type_name(fn) + ", expected a callable)");
                 return callback_encoder(positive(dim, "CallbackEncoder", "dim"), python_encode(std::move(fn), "CallbackEncoder.encode"));
             }),
             "fn"_a, "dim"_a)
        .def_property_readonly("dim", &callback_encoder::dim)
        .def(
            "encode",
            [](const callback_encoder& self, const std::vector<std::string>& texts) {
                return to_numpy(self.encode(texts), false);
            },
            "texts"_a, "Encodes texts: float32 array (len(texts), dim).");

    // ---------------------------------------------------------------- DenseRetriever
    py::class_<py_dense, std::shared_ptr<py_dense>> dense(
        m, "DenseRetriever",
        "Dense retriever: encoder + vector index, string ids.\n\n"
        "DenseRetriever(encoder, index=\"exact\"|\"hnsw\", metric=\"cosine\", M=16, ef_construction=200, ef=100, "
        "batch_size=256); encoder is a HashedEncoder, a CallbackEncoder, or any object with .dim and "
        ".encode(list[str]) (or __call__) returning an (n, dim) float array.");
    dense
        .def(py::init([](const py::object& encoder, const std::string& index, const std::string& metric, py::ssize_t M,
                         py::ssize_t ef_construction, py::ssize_t ef, py::ssize_t batch_size) {
                 hnsw_config cfg;
                 cfg.dim = 1;
                 cfg.M = positive(M, "DenseRetriever", "M");
                 cfg.ef_construction = positive(ef_construction, "DenseRetriever", "ef_construction");
                 cfg.ef = positive(ef, "DenseRetriever", "ef");
                 const callback_encoder enc = encoder_from_py(encoder, "DenseRetriever");
                 return std::make_shared<py_dense>(enc, index, parse_similarity(metric), cfg,
                                                   positive(batch_size, "DenseRetriever", "batch_size"), share(encoder));
             }),
             "encoder"_a, "index"_a = "exact", "metric"_a = "cosine", "M"_a = 16, "ef_construction"_a = 200, "ef"_a = 100,
             "batch_size"_a = 256)
        .def(
            "add",
            [](py_dense& self, const std::string& id, const std::string& text) {
                py::gil_scoped_release release;
                self.visit([&](auto& d) { d.add(id, text); });
            },
            "id"_a, "text"_a, "Encodes and indexes one text. Raises ConfigError on an empty or duplicate id.")
        .def(
            "add_documents",
            [](py_dense& self, const py::object& docs) {
                if (py::isinstance<knowledge_base>(docs)) {
                    const knowledge_base& kb = docs.cast<const knowledge_base&>();
                    py::gil_scoped_release release;
                    self.visit([&](auto& d) { d.add(kb); });
                    return;
                }
                std::vector<std::string> ids, texts;
                for (py::handle item : docs) {
                    if (!py::isinstance<document>(item))
                        throw py::type_error("DenseRetriever.add_documents: expected Document items (got " +
                                             type_name(item) + ")");
                    const document& doc = item.cast<const document&>();
                    ids.push_back(doc.id);
                    texts.push_back(doc.indexed_text());
                }
                py::gil_scoped_release release;
                self.visit([&](auto& d) { d.add(ids, texts); });
            },
            "documents"_a,
            "Indexes a KnowledgeBase or an iterable of Document (title + text), encoded in batches.")
        .def(
            "update",
            [](py_dense& self, const std::string& id, const std::string& text) {
                py::gil_scoped_release release;
                self.visit([&](auto& d) { d.update(id, text); });
            },
            "id"_a, "text"_a, "Re-encodes a document. Raises NotFoundError for an unknown id.")
        .def(
            "remove",
            [](py_dense& self, const std::string& id) {
                py::gil_scoped_release release;
                self.visit([&](auto& d) { d.remove(id); });
            },
            "id"_a, "Removes a document. Raises NotFoundError for an unknown id.")
        .def("__len__", [](const py_dense& self) { return self.visit([](const auto& d) { return d.size(); }); })
        .def("__contains__",
             [](const py_dense& self, const std::string& id) { return self.visit([&](const auto& d) { return d.contains(id); }); })
        .def_property_readonly("dim", [](const py_dense& self) { return self.visit([](const auto& d) { return d.dim(); }); })
        .def_property_readonly("index", [](const py_dense& self) { return self.is_hnsw() ? "hnsw" : "exact"; })
        .def_property_readonly("metric", [](const py_dense& self) {
            return self.visit([](const auto& d) { return similarity_name(d.index().metric()); });
        })
        .def_property_readonly("encoder", &py_dense::encoder, "The encoder object given to the constructor.")
        .def_property(
            "ef", [](py_dense& self) { return self.hnsw().ef(); },
            [](py_dense& self, py::ssize_t ef) { self.hnsw().set_ef(positive(ef, "DenseRetriever.ef", "ef")); },
            "HNSW search candidate list size (StateError with the exact index).");
    def_search(dense, "DenseRetriever");

    // ---------------------------------------------------------------- HybridRetriever
    py::class_<py_hybrid, std::shared_ptr<py_hybrid>> hyb(
        m, "HybridRetriever",
        "Fusion of two retrievers (BM25, DenseRetriever, HybridRetriever, or any object with "
        ".search(query, k)).\n\n"
        "HybridRetriever(first, second, method=\"rrf\"|\"weighted\", rrf_k=60, weight=0.5, depth=100): RRF sums "
        "1/(rrf_k + rank); weighted sums weight * minmax(first) + (1 - weight) * minmax(second). Each side "
        "gives max(depth, k) candidates; ties are broken by id.");
    hyb.def(py::init([](const py::object& first, const py::object& second, const std::string& method, float rrf_k,
                        float weight, py::ssize_t depth) {
                fusion_config cfg;
                cfg.method = parse_fusion_method(method);
                cfg.rrf_k = rrf_k;
                cfg.weight = weight;
                cfg.depth = positive(depth, "HybridRetriever", "depth");
                cfg.validate();
                return std::make_shared<py_hybrid>(retriever_arg(first, "HybridRetriever"), retriever_arg(second, "HybridRetriever"), cfg, share(first),
                                                   share(second));
            }),
            "first"_a, "second"_a, "method"_a = "rrf", "rrf_k"_a = 60.0f, "weight"_a = 0.5f, "depth"_a = 100)
        .def_property_readonly("method", [](const py_hybrid& self) { return fusion_method_name(self.config().method); })
        .def_property_readonly("rrf_k", [](const py_hybrid& self) { return self.config().rrf_k; })
        .def_property_readonly("weight", [](const py_hybrid& self) { return self.config().weight; })
        .def_property_readonly("depth", [](const py_hybrid& self) { return self.config().depth; })
        .def_property_readonly("first", &py_hybrid::first)
        .def_property_readonly("second", &py_hybrid::second);
    def_search(hyb, "HybridRetriever");

    // ---------------------------------------------------------------- composed retrievers
    py::class_<py_fused, std::shared_ptr<py_fused>> fus(
        m, "FusedRetriever",
        "Weighted reciprocal rank fusion of several retrievers, searched in C++ (aitl::fused).\n\n"
        "FusedRetriever(retrievers, weights=None, depth=100, rrf_k=60.0): a document scores sum(weight / (rrf_k + "
        "rank)) over the retrievers' top max(depth, k) (ranks from 1); ties by smaller id. weights: one per retriever, "
        ">= 0, at least one > 0 (None: all 1); a retriever of weight 0 is not searched. Retrievers: BM25, "
        "DenseRetriever, HybridRetriever, FusedRetriever, RerankedRetriever, FilteredRetriever, ServingIndex (no "
        "Python per query), or an object with .search(query, k) (called with the GIL). Raises ConfigError.");
    fus.def(py::init([](const std::vector<py::object>& retrievers, const py::object& weights, py::ssize_t depth,
                        double rrf_k) {
                std::vector<any_retriever> parts;
                for (const auto& r : retrievers) parts.push_back(retriever_arg(r, "FusedRetriever"));
                std::vector<double> w;
                if (!weights.is_none()) w = weights.cast<std::vector<double>>();
                return std::make_shared<py_fused>(
                    py_fused{fused(std::move(parts), std::move(w), positive(depth, "FusedRetriever", "depth"), rrf_k),
                             retrievers});
            }),
            "retrievers"_a, "weights"_a = py::none(), "depth"_a = 100, "rrf_k"_a = 60.0)
        .def_property_readonly("retrievers", [](const py_fused& self) { return self.parts; })
        .def_property_readonly("weights", [](const py_fused& self) { return self.impl.weights(); })
        .def_property_readonly("depth", [](const py_fused& self) { return self.impl.depth(); })
        .def_property_readonly("rrf_k", [](const py_fused& self) { return self.impl.rrf_k(); });
    def_search(fus, "FusedRetriever");

    py::class_<py_reranked, std::shared_ptr<py_reranked>> rer(
        m, "RerankedRetriever",
        "A reranker over the top of a first stage, as one retriever (aitl::reranked): search(query, k) takes the "
        "first stage's top max(depth, k) and returns the reranker's best k of them (depth 0: k).\n\n"
        "RerankedRetriever(retriever, reranker, depth=0): retriever as for FusedRetriever; reranker: a FeatureRanker "
        "(shared, searched in C++), None (identity), an object with .rerank(query, hits, k) or a "
        "callable(query, hits) -> hits (called with the GIL).");
    rer.def(py::init([](const py::object& retriever, const py::object& reranker, py::ssize_t depth) {
                if (depth < 0)
                    throw config_error("RerankedRetriever: depth out of range (got " + std::to_string(depth) +
                                       ", expected >= 0)");
                return std::make_shared<py_reranked>(
                    py_reranked{reranked<any_retriever, py_reranker>(retriever_arg(retriever, "RerankedRetriever"),
                                                                     reranker_from_py(reranker, "RerankedRetriever"),
                                                                     static_cast<std::size_t>(depth)),
                                retriever, reranker});
            }),
            "retriever"_a, "reranker"_a, "depth"_a = 0)
        .def_property_readonly("retriever", [](const py_reranked& self) { return self.retriever; })
        .def_property_readonly("reranker", [](const py_reranked& self) { return self.reranker; })
        .def_property_readonly("depth", [](const py_reranked& self) { return self.impl.depth(); });
    def_search(rer, "RerankedRetriever");

    py::class_<py_filtered, std::shared_ptr<py_filtered>> fil(
        m, "FilteredRetriever",
        "A retriever that never returns some documents, which stay indexed (aitl::filtered): search(query, k) takes "
        "the inner top max(depth, k) (depth 0: k + the number excluded), drops the excluded ids and returns the "
        "first k left.\n\nFilteredRetriever(retriever, exclude, depth=0).");
    fil.def(py::init([](const py::object& retriever, std::vector<std::string> exclude, py::ssize_t depth) {
                if (depth < 0)
                    throw config_error("FilteredRetriever: depth out of range (got " + std::to_string(depth) +
                                       ", expected >= 0)");
                return std::make_shared<py_filtered>(
                    py_filtered{filtered<any_retriever>(retriever_arg(retriever, "FilteredRetriever"), std::move(exclude),
                                                        static_cast<std::size_t>(depth)),
                                retriever});
            }),
            "retriever"_a, "exclude"_a, "depth"_a = 0)
        .def_property_readonly("retriever", [](const py_filtered& self) { return self.retriever; })
        .def_property_readonly("excluded", [](const py_filtered& self) { return self.impl.excluded(); });
    def_search(fil, "FilteredRetriever");

    register_retriever<py_dense>("DenseRetriever");
    register_retriever<py_hybrid>("HybridRetriever");
    register_retriever<py_fused>("FusedRetriever");
    register_retriever<py_reranked>("RerankedRetriever");
    register_retriever<py_filtered>("FilteredRetriever");

    m.def(
        "fuse_rrf",
        [](const std::vector<py::object>& lists, std::vector<double> weights, py::ssize_t k, double rrf_k) {
            std::vector<hits> hs;
            hs.reserve(lists.size());
            for (const auto& l : lists) hs.push_back(hits_from_py(l, "fuse_rrf"));
            std::vector<const hits*> ptrs;
            for (const auto& h : hs) ptrs.push_back(&h);
            const auto n = static_cast<std::size_t>(positive(k, "fuse_rrf", "k"));
            py::gil_scoped_release release;
            return fuse_rrf(ptrs, std::move(weights), n, rrf_k);
        },
        "lists"_a, "weights"_a = std::vector<double>{}, "k"_a = 100, "rrf_k"_a = 60.0,
        "Weighted reciprocal rank fusion of ranked lists (Hits or (id, score) pairs, best first): a document scores "
        "sum(weight / (rrf_k + rank)); the k best, ties by smaller id. weights: one per list (default all 1).");
}

}  // namespace aitl::python
