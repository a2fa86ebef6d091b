#include "bindings.hpp"

namespace aitl::python {
void bind_kb(py::module_& m) { (void)m; }
}  // namespace aitl::python
