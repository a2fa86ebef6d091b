#include "bindings.hpp"

namespace aitl::python {
void bind_eval(py::module_& m) { (void)m; }
}  // namespace aitl::python
