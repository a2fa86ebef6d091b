#pragma once
// One bind_<family>() per component family, each in its own bind_<family>.cpp.
#include <pybind11/pybind11.h>

namespace aitl {
struct impression;
struct annotation;
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

// Shared by bind_feedback.cpp and bind_store.cpp (defined in bind_feedback.cpp).
// An Impression/Annotation object or a dict in the JSON form (ConfigError naming the field);
// TypeError for anything else.
impression impression_from_py(py::handle h);
annotation annotation_from_py(py::handle h);
// The JSON form as a dict.
py::object to_py_dict(const impression& i);
py::object to_py_dict(const annotation& a);
}  // namespace aitl::python
