#pragma once
// One bind_<family>() per component family, each in its own bind_<family>.cpp.
#include <pybind11/pybind11.h>

namespace aitl::python {
namespace py = pybind11;
void bind_errors(py::module_& m);
void bind_text(py::module_& m);
void bind_kb(py::module_& m);
void bind_bm25(py::module_& m);
void bind_retrieval(py::module_& m);
void bind_eval(py::module_& m);
}  // namespace aitl::python
