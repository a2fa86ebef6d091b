#include "bindings.hpp"

namespace aitl::python {
void bind_retrieval(py::module_& m) { (void)m; }
}  // namespace aitl::python
