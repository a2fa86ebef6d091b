#include <aitl/version.hpp>

#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "aitl: Agent-in-the-Loop data flywheel (C++ core)";
    m.attr("__version__") = aitl::version_string;
    using namespace aitl::python;
    bind_errors(m);  // first: later families' docstrings may name the exception types
    bind_text(m);
    bind_kb(m);
    bind_bm25(m);
    bind_retrieval(m);
    bind_eval(m);
    bind_feedback(m);
    bind_store(m);
    bind_learn_data(m);
    bind_reward(m);
    bind_learn(m);
    bind_registry(m);
    bind_flywheel(m);
    bind_gaps(m);
    bind_generate(m);
    bind_index_lifecycle(m);
    bind_pipeline(m);  // last: the pipeline takes the generator and retrieval types
}
