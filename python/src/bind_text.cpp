#include "bindings.hpp"

namespace aitl::python {
void bind_text(py::module_& m) { (void)m; }
}  // namespace aitl::python
