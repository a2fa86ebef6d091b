#pragma once
// One bind_<family>() per component family, each in its own bind_<family>.cpp.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <aitl/error.hpp>
#include <aitl/types.hpp>

namespace aitl {
struct impression;
struct annotation;
template <class Mutex>
class basic_sqlite_store;
}  // namespace aitl

namespace aitl::python {
namespace py = pybind11;
void bind_errors(py::module_& m);
void bind_text(py::module_& m);
void bind_kb(py::module_& m);
void bind_bm25(py::module_& m);
void bind_retrieval(py::module_& m);
void bind_eval(py::module_& m);
void bind_feedback(py::module_& m);
void bind_store(py::module_& m);
void bind_learn_data(py::module_& m);
void bind_reward(py::module_& m);
void bind_learn(py::module_& m);
void bind_registry(py::module_& m);
void bind_flywheel(py::module_& m);
void bind_gaps(py::module_& m);
void bind_generate(py::module_& m);
void bind_index_lifecycle(py::module_& m);
void bind_pipeline(py::module_& m);

// Shared by bind_feedback.cpp and bind_store.cpp (defined in bind_feedback.cpp).
// An Impression/Annotation object or a dict in the JSON form (ConfigError naming the field);
// TypeError for anything else.
impression impression_from_py(py::handle h);
annotation annotation_from_py(py::handle h);
// The JSON form as a dict.
py::object to_py_dict(const impression& i);
py::object to_py_dict(const annotation& a);

// The store of a SqliteStore object (defined in bind_store.cpp): TypeError for anything else,
// StateError when it is closed.
std::shared_ptr<basic_sqlite_store<std::mutex>> store_from_py(py::handle h, const char* where);

// The name of a Python object's type, for messages.
inline std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

// A dict typed for the stubs (dict[str, Any]).
using dict_t = py::typing::Dict<py::str, py::object>;
inline dict_t as_dict_t(py::object o) { return py::reinterpret_steal<dict_t>(o.release()); }

// repr() of a string cut to `max` bytes (at a UTF-8 boundary) with "..." when longer.
inline std::string repr_str(const std::string& s, std::size_t max = 40) {
    std::string cut = s;
    if (cut.size() > max) {
        std::size_t n = max;
        while (n > 0 && (static_cast<unsigned char>(cut[n]) & 0xC0) == 0x80) --n;
        cut = cut.substr(0, n) + "...";
    }
    return py::repr(py::str(cut)).cast<std::string>();
}

}  // namespace aitl::python
