#pragma once
// The one adapter layer between Python objects and aitl's C++ slots, used by every bind file:
// sharing Python objects with C++ owners, hits, encoders, retrievers and rerankers.
//
// Native components (BM25, DenseRetriever, FusedRetriever, ServingIndex, FeatureRanker, ...)
// are used as the C++ objects they are: a pipeline or a composed retriever built from them
// never calls into Python per query. Python objects (an object with .search / .rerank /
// .encode, or a callable) are called with the GIL taken for each call.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/callback_encoder.hpp>
#include <aitl/types.hpp>

#include "bindings.hpp"

namespace aitl::python {
namespace py = pybind11;

// A Python object whose last owner may be a C++ thread: the reference is dropped with the GIL.
using shared_object = std::shared_ptr<py::object>;
inline shared_object share(py::object o) {
    return shared_object(new py::object(std::move(o)), [](py::object* p) {
        py::gil_scoped_acquire gil;
        delete p;
    });
}

// A C++ object bound to Python, shared with C++ owners: it lives as long as the Python object,
// which the returned pointer keeps alive (whatever the class's pybind11 holder).
template <class T>
std::shared_ptr<const T> share_native(const py::object& o) {
    shared_object keep = share(o);
    const T* p = &o.cast<const T&>();
    return std::shared_ptr<const T>(std::move(keep), p);
}

inline bool callable(py::handle h) { return PyCallable_Check(h.ptr()) != 0; }

// Hits from a Python iterable of Hit or (doc_id, score) pairs. TypeError for a string or a
// non-iterable; config_error naming `where` and the item for anything else.
inline hits hits_from_py(py::handle obj, const char* where) {
    if (py::isinstance<py::str>(obj) || !py::isinstance<py::iterable>(obj))
        throw py::type_error(std::string(where) + ": expected a list of Hit or (doc_id, score) (got " + type_name(obj) +
                             ")");
    hits out;
    std::size_t i = 0;
    for (py::handle h : obj) {
        if (py::isinstance<hit>(h)) {
            out.push_back(h.cast<hit>());
        } else if (py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h) && py::len(h) == 2) {
            auto pair = py::reinterpret_borrow<py::sequence>(h);
            out.push_back(hit{pair[0].cast<std::string>(), pair[1].cast<float>()});
        } else {
            throw config_error(std::string(where) + ": candidate " + std::to_string(i) + " is not a Hit or (id, score) (got " +
                               type_name(h) +
                               (py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h)
                                    ? " of " + std::to_string(py::len(h)) + " items"
                                    : std::string()) +
                               ", expected a Hit or 2 items)");
        }
        ++i;
    }
    return out;
}

// Native components register here, one list per slot type (the bind file that defines a class
// adds it): find_native<Slot>(obj) is the slot of a registered class's object and its kind name.
template <class Slot>
using native_fn = std::function<std::optional<std::pair<Slot, std::string>>(const py::object&)>;
template <class Slot>
std::vector<native_fn<Slot>>& natives() {
    static std::vector<native_fn<Slot>> v;
    return v;
}
// Registers class T: its objects become make(shared T) of kind `kind`.
template <class Slot, class T, class Make>
void register_native(std::string kind, Make make) {
    natives<Slot>().push_back([kind, make](const py::object& o) -> std::optional<std::pair<Slot, std::string>> {
        if (!py::isinstance<T>(o)) return std::nullopt;
        return std::make_pair(make(share_native<T>(o)), kind);
    });
}
template <class Slot>
std::optional<std::pair<Slot, std::string>> find_native(const py::object& o) {
    for (const auto& f : natives<Slot>())
        if (auto got = f(o)) return got;
    return std::nullopt;
}

// ------------------------------------------------------------------------------------------
// Encoders
// ------------------------------------------------------------------------------------------

// T: `dim()` and `row_matrix encode(const std::vector<std::string>&) const` (encoded in C++).
template <class T>
void register_encoder() {
    register_native<callback_encoder, T>("", [](std::shared_ptr<const T> p) {
        return callback_encoder(p->dim(), [p](const std::vector<std::string>& texts) { return p->encode(texts); });
    });
}

// fn(list[str]) called with the GIL, its (n, dim) float array copied; dimension_error naming
// `where` when it returns anything else.
inline std::function<row_matrix(const std::vector<std::string>&)> python_encode(py::object fn, std::string where) {
    using float_array = py::array_t<float, py::array::c_style | py::array::forcecast>;
    shared_object f = share(std::move(fn));
    return [f, where](const std::vector<std::string>& texts) -> row_matrix {
        py::gil_scoped_acquire gil;
        py::object out = (*f)(py::cast(texts));
        const float_array a = float_array::ensure(out);
        if (!a || a.ndim() != 2)
            throw dimension_error(where + ": the encoder must return a 2-D float array (got " + type_name(out) +
                                  (a ? " of " + std::to_string(a.ndim()) + " dimensions" : std::string()) +
                                  ", expected (n, dim))");
        return Eigen::Map<const row_matrix>(a.data(), static_cast<Eigen::Index>(a.shape(0)),
                                            static_cast<Eigen::Index>(a.shape(1)));
    };
}

/**
 * Any encoder from Python as a callback_encoder: a CallbackEncoder (copied: it is a value), a
 * registered native encoder (shared, called with no GIL), or an object with `.encode(texts)` (or
 * a callable) returning an (n, dim) float array, called with the GIL. Its dimension is `.dim`
 * (an attribute or a method); without one it is found by encoding `probe` when given, else
 * config_error. Everything is shared, nothing is copied.
 */
inline callback_encoder encoder_from_py(const py::object& obj, const char* where, const std::string* probe = nullptr) {
    if (py::isinstance<callback_encoder>(obj)) return obj.cast<callback_encoder>();
    if (auto e = find_native<callback_encoder>(obj)) return std::move(e->first);
    py::object fn = py::hasattr(obj, "encode") ? obj.attr("encode") : obj;
    if (!callable(fn))
        throw config_error(std::string(where) + ": the encoder is not callable (got " + type_name(obj) +
                           ", expected a HashedEncoder, a CallbackEncoder, an object with .dim and .encode(texts), or "
                           "a callable(texts) -> array (n, dim))");
    auto call = python_encode(fn, where);
    py::ssize_t dim = 0;
    if (py::hasattr(obj, "dim")) {
        py::object d = obj.attr("dim");
        if (callable(d)) d = d();
        dim = d.cast<py::ssize_t>();
    } else if (probe) {
        dim = static_cast<py::ssize_t>(call({*probe}).cols());
    } else {
        throw config_error(std::string(where) + ": the encoder has no .dim (got " + type_name(obj) +
                           ", expected a HashedEncoder, a CallbackEncoder or an object with .dim and .encode)");
    }
    if (dim <= 0)
        throw config_error(std::string(where) + ": the encoder's dimension must be positive (got " +
                              std::to_string(dim) + ", expected >= 1)");
    return callback_encoder(static_cast<std::size_t>(dim), call);
}

// ------------------------------------------------------------------------------------------
// Retrievers
// ------------------------------------------------------------------------------------------

// Kind: the name a pipeline reports for it (its default model name).
template <class T>
void register_retriever(std::string kind) {
    register_native<any_retriever, T>(std::move(kind), [](std::shared_ptr<const T> p) { return any_retriever(std::move(p)); });
}

/**
 * Any retriever from Python: a registered native retriever (searched in C++, no GIL), an object
 * with `.search(query, k)` or a callable(query, k), each returning Hit or (doc_id, score) items
 * (called with the GIL). `kind` receives the native kind, the Python type's name, or "callable".
 * config_error naming `where` for anything else.
 */
inline any_retriever retriever_from_py(const py::object& obj, const char* where, std::string* kind = nullptr) {
    if (auto r = find_native<any_retriever>(obj)) {
        if (kind) *kind = r->second;
        return std::move(r->first);
    }
    const bool has_search = py::hasattr(obj, "search") && callable(obj.attr("search"));
    if (!has_search && !callable(obj))
        throw config_error(std::string(where) + ": not a retriever (got " + type_name(obj) +
                           ", expected BM25, DenseRetriever, HybridRetriever, FusedRetriever, RerankedRetriever, "
                           "FilteredRetriever, ServingIndex, an object with .search(query, k) or a callable(query, k))");
    struct python_retriever {
        shared_object fn;
        std::string where;
        hits search(std::string_view q, std::size_t k) const {
            py::gil_scoped_acquire gil;
            return hits_from_py((*fn)(py::str(q.data(), q.size()), k), where.c_str());
        }
    };
    if (kind) *kind = has_search ? type_name(obj) : "callable";
    return any_retriever(python_retriever{share(has_search ? obj.attr("search") : obj), std::string(where) + " retriever"});
}

// ------------------------------------------------------------------------------------------
// Rerankers
// ------------------------------------------------------------------------------------------

// The reranker slot: identity (empty), a native reranker, or Python.
struct py_reranker {
    std::function<hits(std::string_view, const hits&, std::size_t)> fn;  // empty: identity
    hits rerank(std::string_view q, const hits& candidates, std::size_t k) const {
        if (!fn) return identity_reranker{}.rerank(q, candidates, k);
        return fn(q, candidates, k);
    }
};

// Shared, not copied: fit or load it before handing it over; pass a new one to switch models.
template <class T>
void register_reranker(std::string kind) {
    register_native<py_reranker, T>(std::move(kind), [](std::shared_ptr<const T> p) {
        return py_reranker{[p](std::string_view q, const hits& c, std::size_t k) { return p->rerank(q, c, k); }};
    });
}

/**
 * Any reranker from Python: None (identity), a registered native reranker (FeatureRanker), an
 * object with `.rerank(query, hits, k)`, or a callable(query, hits) -> hits (with the GIL).
 * `kind` receives "identity", the native kind, the Python type's name or "callable".
 */
inline py_reranker reranker_from_py(const py::object& r, const char* where, std::string* kind = nullptr) {
    auto said = [&](std::string k) {
        if (kind) *kind = std::move(k);
    };
    if (r.is_none()) {
        said("identity");
        return py_reranker{};
    }
    if (auto got = find_native<py_reranker>(r)) {
        said(got->second);
        return std::move(got->first);
    }
    const std::string w = std::string(where) + " reranker";
    if (py::hasattr(r, "rerank") && callable(r.attr("rerank"))) {
        shared_object fn = share(r.attr("rerank"));
        said(type_name(r));
        return py_reranker{[fn, w](std::string_view q, const hits& c, std::size_t k) {
            py::gil_scoped_acquire gil;
            return hits_from_py((*fn)(py::str(q.data(), q.size()), py::cast(c), k), w.c_str());
        }};
    }
    if (callable(r)) {
        shared_object fn = share(r);
        said("callable");
        return py_reranker{[fn, w](std::string_view q, const hits& c, std::size_t) {
            py::gil_scoped_acquire gil;
            return hits_from_py((*fn)(py::str(q.data(), q.size()), py::cast(c)), w.c_str());
        }};
    }
    throw config_error(std::string(where) + ": not a reranker (got " + type_name(r) +
                       ", expected None, a FeatureRanker, an object with .rerank(query, hits, k) or a "
                       "callable(query, hits) -> hits)");
}

}  // namespace aitl::python
