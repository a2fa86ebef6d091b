#include "bindings.hpp"

namespace aitl::python {
void bind_bm25(py::module_& m) { (void)m; }
}  // namespace aitl::python
