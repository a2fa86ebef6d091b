// Python bindings of text/ (tokenize, english_stopwords, Analyzer, escape_markdown, escape_html)
// and of the hashed n-gram encoder (HashedEncoder). encode() returns a float32 array that owns
// the C++ result (no copy).
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/text/analyzer.hpp>
#include <aitl/text/escape.hpp>
#include <aitl/text/stopwords.hpp>
#include <aitl/text/tokenizer.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "py_slots.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;

// Moves a row_matrix into a numpy array that owns it.
py::array_t<float> to_numpy(row_matrix&& m) {
    auto* owned = new row_matrix(std::move(m));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<row_matrix*>(p); });
    const auto rows = static_cast<py::ssize_t>(owned->rows()), cols = static_cast<py::ssize_t>(owned->cols());
    return py::array_t<float>({rows, cols}, {cols * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                              owned->data(), free_when_done);
}

std::vector<std::string> texts_arg(const py::handle& texts, const char* where) {
    if (py::isinstance<py::str>(texts) || py::isinstance<py::bytes>(texts))
        throw py::type_error(std::string(where) + ": texts must be a list of str (got a single " + type_name(texts) + ")");
    std::vector<std::string> out;
    for (py::handle t : texts) {
        if (!py::isinstance<py::str>(t))
            throw py::type_error(std::string(where) + ": texts must be str (got " + type_name(t) + ")");
        out.push_back(t.cast<std::string>());
    }
    return out;
}

std::string bool_str(bool b) { return b ? "True" : "False"; }

// The bytes of a str (lone surrogates, e.g. from surrogateescape, kept as invalid UTF-8 for the
// escaper to replace) or of a bytes object.
std::string text_bytes(const std::variant<py::bytes, py::str>& text) {
    if (const auto* b = std::get_if<py::bytes>(&text)) return b->cast<std::string>();
    const py::str& s = std::get<py::str>(text);
    py::object b = py::reinterpret_steal<py::object>(PyUnicode_AsEncodedString(s.ptr(), "utf-8", "surrogatepass"));
    if (!b) throw py::error_already_set();
    return b.cast<std::string>();
}

}  // namespace

void bind_text(py::module_& m) {
    m.def(
        "tokenize", [](const std::string& text) { return tokenize(text); }, "text"_a,
        "Splits text into word tokens (case kept, UTF-8 safe): runs of letters/digits of any script; "
        "apostrophes inside words and '.'/',' between digits are kept; emoji and punctuation separate.");
    m.def("english_stopwords", &english_stopwords, "The English stop list (Snowball's, 174 words), sorted.");
    m.def(
        "escape_markdown", [](const std::variant<py::bytes, py::str>& text) { return escape_markdown(text_bytes(text)); },
        "text"_a,
        "Escapes untrusted text (str, or bytes read as UTF-8) for inline Markdown: one line, inert as Markdown and "
        "once rendered to HTML (no HTML, link, image, autolink, heading, list, code span, emphasis or table-cell "
        "break). Invalid UTF-8 -> U+FFFD, control characters -> space, leading/trailing spaces dropped, & < > as "
        "entities, Markdown punctuation backslash-escaped (see text/escape.hpp). Every aitl Markdown report uses it.");
    m.def(
        "escape_html", [](const std::variant<py::bytes, py::str>& text) { return escape_html(text_bytes(text)); }, "text"_a,
        "Escapes untrusted text (str, or bytes read as UTF-8) for HTML element content and quoted attribute values: "
        "& < > \" ' as entities, invalid UTF-8 -> U+FFFD, control characters other than tab/LF/CR -> space.");

    py::class_<analyzer>(m, "Analyzer", "Text analysis: tokenize -> lower case -> drop English stop words -> Snowball stem.")
        .def(py::init([](bool lowercase, bool stopwords, bool stem, std::string language) {
                 return analyzer(analyzer_config{lowercase, stopwords, stem, std::move(language)});
             }),
             "lowercase"_a = true, "stopwords"_a = true, "stem"_a = true, "language"_a = "english",
             "Raises ConfigError for an unknown stemmer language, or stop words with a language other than English.")
        .def(
            "tokens",
            [](const analyzer& a, const std::string& text) {
                py::gil_scoped_release release;
                return a.tokens(text);
            },
            "text"_a, "The index terms of `text`, in order (repeats kept).")
        .def_property_readonly("config", [](const analyzer& a) { return json_to_py(nlohmann::json(a.config())); },
                               "The settings as a dict.")
        .def("__repr__", [](const analyzer& a) {
            const auto& c = a.config();
            return "Analyzer(lowercase=" + bool_str(c.lowercase) + ", stopwords=" + bool_str(c.stopwords) +
                   ", stem=" + bool_str(c.stem) + ", language='" + c.language + "')";
        });

    py::class_<hashed_encoder>(
        m, "HashedEncoder",
        "Text -> unit vector without weights: hashed word n-grams and character n-grams projected by a "
        "trainable buckets x dim matrix (random with orthonormal columns at start, deterministic for the seed).")
        .def(py::init([](std::size_t dim, std::uint64_t seed, std::uint32_t buckets, std::size_t word_ngram_max,
                         std::size_t char_ngram_min, std::size_t char_ngram_max, bool lowercase, bool stopwords,
                         bool stem, std::string language) {
                 hashed_encoder_config c;
                 c.dim = dim;
                 c.seed = seed;
                 c.buckets = buckets;
                 c.word_ngram_max = word_ngram_max;
                 c.char_ngram_min = char_ngram_min;
                 c.char_ngram_max = char_ngram_max;
                 c.analyzer = {lowercase, stopwords, stem, std::move(language)};
                 py::gil_scoped_release release;
                 return hashed_encoder(std::move(c));
             }),
             "dim"_a = 256, "seed"_a = 0, "buckets"_a = 1u << 15, "word_ngram_max"_a = 2, "char_ngram_min"_a = 3,
             "char_ngram_max"_a = 5, "lowercase"_a = true, "stopwords"_a = true, "stem"_a = false,
             "language"_a = "english", "Raises ConfigError for invalid settings (e.g. dim > buckets).")
        .def_property_readonly("dim", &hashed_encoder::dim, "Output dimension.")
        .def_property_readonly("config", [](const hashed_encoder& e) { return json_to_py(nlohmann::json(e.config())); },
                               "The settings as a dict.")
        .def(
            "encode",
            [](const hashed_encoder& e, const py::object& texts) {
                std::vector<std::string> t = texts_arg(texts, "HashedEncoder.encode");
                row_matrix out;
                {
                    py::gil_scoped_release release;
                    out = e.encode(t);
                }
                return to_numpy(std::move(out));
            },
            "texts"_a, "float32 array (len(texts), dim) of L2-normalised rows; empty texts give zero rows.")
        .def(
            "__call__",
            [](const hashed_encoder& e, const py::object& texts) {
                std::vector<std::string> t = texts_arg(texts, "HashedEncoder.__call__");
                row_matrix out;
                {
                    py::gil_scoped_release release;
                    out = e.encode(t);
                }
                return to_numpy(std::move(out));
            },
            "texts"_a)
        .def(
            "features",
            [](const hashed_encoder& e, const std::string& text) {
                const sparse_vector f = e.features(text);
                py::array_t<std::uint32_t> idx(static_cast<py::ssize_t>(f.size()));
                py::array_t<float> val(static_cast<py::ssize_t>(f.size()));
                auto i = idx.mutable_unchecked<1>();
                auto v = val.mutable_unchecked<1>();
                for (std::size_t k = 0; k < f.size(); ++k) {
                    i(static_cast<py::ssize_t>(k)) = f[k].index;
                    v(static_cast<py::ssize_t>(k)) = f[k].value;
                }
                return py::make_tuple(idx, val);
            },
            "text"_a, "The L2-normalised sparse n-gram features before projection: (indices uint32, values float32).")
        .def_property_readonly(
            "projection", [](const hashed_encoder& e) { return to_numpy(row_matrix(e.projection())); },
            "A copy of the buckets x dim projection (float32); change it with set_projection().")
        .def(
            "set_projection",
            [](hashed_encoder& e, const py::array_t<float, py::array::c_style | py::array::forcecast>& p) {
                if (p.ndim() != 2)
                    throw dimension_error("HashedEncoder.set_projection: not a matrix (got " + std::to_string(p.ndim()) +
                                          " dimensions, expected 2)");
                row_matrix copy = Eigen::Map<const row_matrix>(p.data(), p.shape(0), p.shape(1));
                py::gil_scoped_release release;
                e.set_projection(std::move(copy));
            },
            "projection"_a,
            "Replaces the projection. Raises DimensionError for a shape other than (buckets, dim) or NaN/inf.")
        .def(
            "save",
            [](const hashed_encoder& e, const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                e.save(p);
            },
            "path"_a, "Writes settings and projection to one file. Raises IoError.")
        .def_static(
            "load",
            [](const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                return hashed_encoder::load(p);
            },
            "path"_a, "Reads a file written by save(). Raises IoError, or ParseError for a corrupt file.")
        .def("__repr__", [](const hashed_encoder& e) {
            const auto& c = e.config();
            return "HashedEncoder(dim=" + std::to_string(c.dim) + ", buckets=" + std::to_string(c.buckets) +
                   ", seed=" + std::to_string(c.seed) + ")";
        });
    register_encoder<hashed_encoder>();  // shared with dense retrievers, encoded in C++
}

}  // namespace aitl::python
