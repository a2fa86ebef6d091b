// Bindings of eval/significance.hpp (paired_test, sign_test), flywheel/gate.hpp (GateConfig,
// gate, GateDecision) and flywheel/scheduler.hpp (SchedulerConfig, SchedulerState, Scheduler,
// ScheduleDecision).
#include <aitl/error.hpp>
#include <aitl/eval/significance.hpp>
#include <aitl/feedback/annotation.hpp>
#include <aitl/flywheel/gate.hpp>
#include <aitl/flywheel/scheduler.hpp>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using json = nlohmann::json;

// A 1-D float sequence (list, tuple, numpy array) -> vector<double>; TypeError otherwise.
std::vector<double> float_vector(py::handle h, const std::string& where) {
    if (PyUnicode_Check(h.ptr()) || PyBytes_Check(h.ptr()) || PyDict_Check(h.ptr()))
        throw py::type_error(where + ": expected a sequence of floats (got " + type_name(h) + ")");
    py::array_t<double, py::array::c_style | py::array::forcecast> a;
    try {
        a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(h);
    } catch (const py::error_already_set&) {
    }
    if (!a) {
        PyErr_Clear();
        throw py::type_error(where + ": expected a sequence of floats (got " + type_name(h) + ")");
    }
    if (a.ndim() != 1)
        throw dimension_error(where + ": expected a 1-D sequence of per-query scores (got " + std::to_string(a.ndim()) +
                              " dimensions)");
    return std::vector<double>(a.data(), a.data() + a.size());
}

std::map<std::string, std::vector<double>> score_map(py::handle h, const std::string& where) {
    std::map<std::string, std::vector<double>> out;
    if (h.is_none()) return out;
    if (!PyDict_Check(h.ptr()))
        throw py::type_error(where + ": expected a dict {metric: per-query scores} (got " + type_name(h) + ")");
    for (auto item : py::reinterpret_borrow<py::dict>(h)) {
        if (!PyUnicode_Check(item.first.ptr()))
            throw py::type_error(where + ": metric names must be str (got " + type_name(item.first) + ")");
        const std::string m = item.first.cast<std::string>();
        out[m] = float_vector(item.second, where + "['" + m + "']");
    }
    return out;
}

gate_scores scores_arg(py::handle h, const char* who) {
    const std::string w = std::string("gate: ") + who;
    if (!PyDict_Check(h.ptr()))
        throw py::type_error(w + ": expected a dict {'fresh': {metric: scores}, 'guard': {metric: scores}} (got " +
                             type_name(h) + ")");
    gate_scores s;
    for (auto item : py::reinterpret_borrow<py::dict>(h)) {
        const std::string key = py::str(item.first);
        if (key == "fresh") s.fresh = score_map(item.second, w + "['fresh']");
        else if (key == "guard") s.guard = score_map(item.second, w + "['guard']");
        else
            throw config_error(w + ": unknown key (got '" + key + "', expected 'fresh' or 'guard')");
    }
    return s;
}

template <class T>
T from_dict_arg(py::handle d, const char* where) {
    if (!PyDict_Check(d.ptr())) throw py::type_error(std::string(where) + ": expected a dict (got " + type_name(d) + ")");
    T out;
    from_json(py_to_json(d, where), out);
    return out;
}

gate_config gate_config_arg(py::handle h) {
    if (h.is_none()) return gate_config{};
    if (py::isinstance<gate_config>(h)) return h.cast<gate_config>();
    if (PyDict_Check(h.ptr())) return from_dict_arg<gate_config>(h, "gate: config");
    throw py::type_error("gate: config must be a GateConfig, a dict or None (got " + type_name(h) + ")");
}

scheduler_config scheduler_config_arg(py::handle h) {
    if (h.is_none()) return scheduler_config{};
    if (py::isinstance<scheduler_config>(h)) return h.cast<scheduler_config>();
    if (PyDict_Check(h.ptr())) return from_dict_arg<scheduler_config>(h, "Scheduler: config");
    throw py::type_error("Scheduler: config must be a SchedulerConfig, a dict or None (got " + type_name(h) + ")");
}

std::string list_repr(const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + repr_str(v[i], 60);
    return s + "]";
}

}  // namespace

void bind_flywheel(py::module_& m) {
    // ---- significance ----
    m.def(
        "paired_test",
        [](py::handle base, py::handle challenger, const std::string& method, std::int64_t rounds, std::uint64_t seed,
           double confidence, std::int64_t exact_max) {
            if (rounds < 1) throw config_error("paired_test: rounds out of range (got " + std::to_string(rounds) + ", expected >= 1)");
            if (exact_max < 0)
                throw config_error("paired_test: exact_max out of range (got " + std::to_string(exact_max) + ", expected 0..24)");
            significance_config c;
            c.method = method;
            c.rounds = static_cast<std::size_t>(rounds);
            c.seed = seed;
            c.confidence = confidence;
            c.exact_max = static_cast<std::size_t>(exact_max);
            auto b = float_vector(base, "paired_test: base");
            auto ch = float_vector(challenger, "paired_test: challenger");
            paired_result r;
            {
                py::gil_scoped_release nogil;
                r = paired_test(b, ch, c);
            }
            return as_dict_t(json_to_py(json(r)));
        },
        "base"_a, "challenger"_a, "method"_a = "permutation", "rounds"_a = 10000, "seed"_a = 0, "confidence"_a = 0.95,
        "exact_max"_a = 16,
        R"doc(Paired test of two systems' per-query scores (same queries, same order; lists or numpy arrays).

method "permutation": two-sided sign-flip test, exact over all sign patterns when at most
``exact_max`` differences are non-zero, else ``rounds`` random patterns; interval = normal
approximation. method "bootstrap": percentile interval of the mean difference over ``rounds``
resamples and a bootstrap p-value. Deterministic for a seed.

Returns {mean_base, mean_challenger, mean_diff, ci_low, ci_high, p_value, n, ties, method,
exact, rounds, confidence} (diff = challenger - base; n = 0 gives p_value 1).
Raises DimensionError (lengths differ, NaN/inf), ConfigError (bad method/rounds/confidence).)doc");

    m.def(
        "sign_test",
        [](std::int64_t wins, std::int64_t losses) {
            if (wins < 0 || losses < 0)
                throw config_error("sign_test: negative count (got wins " + std::to_string(wins) + ", losses " +
                                   std::to_string(losses) + ", expected >= 0)");
            return sign_test(static_cast<std::size_t>(wins), static_cast<std::size_t>(losses));
        },
        "wins"_a, "losses"_a,
        "Exact two-sided binomial sign test of win/loss counts (ties left out): "
        "min(1, 2 P(X <= min(wins, losses))), X ~ Binomial(wins + losses, 1/2); 1.0 for 0, 0. "
        "Raises ConfigError on a negative count.");

    // ---- GateConfig ----
    py::class_<gate_config> gc(m, "GateConfig",
                               "Settings of gate(): primary metrics tested on the fresh set, guard metrics "
                               "checked on the guard set, significance level, test method, tolerances.");
    gc.def(py::init([](std::vector<std::string> primary, std::string require, double alpha, std::string method,
                       std::int64_t rounds, std::vector<std::string> guard, double tolerance,
                       std::map<std::string, double> tolerances, std::int64_t min_queries, std::uint64_t seed) {
               if (rounds < 1) throw config_error("GateConfig: rounds out of range (got " + std::to_string(rounds) + ", expected >= 1)");
               if (min_queries < 1)
                   throw config_error("GateConfig: min_queries out of range (got " + std::to_string(min_queries) + ", expected >= 1)");
               gate_config c;
               c.primary = std::move(primary);
               c.require = std::move(require);
               c.alpha = alpha;
               c.method = std::move(method);
               c.rounds = static_cast<std::size_t>(rounds);
               c.guard = std::move(guard);
               c.tolerance = tolerance;
               c.tolerances = std::move(tolerances);
               c.min_queries = static_cast<std::size_t>(min_queries);
               c.seed = seed;
               validate(c, "GateConfig");
               return c;
           }),
           py::kw_only(), "primary"_a = gate_config{}.primary, "require"_a = "all", "alpha"_a = 0.05,
           "method"_a = "permutation", "rounds"_a = 10000, "guard"_a = gate_config{}.guard, "tolerance"_a = 0.01,
           "tolerances"_a = std::map<std::string, double>{}, "min_queries"_a = 30, "seed"_a = 0,
           "All keyword arguments; validated (ConfigError naming the field). require: 'all' or 'any' primary "
           "metric significantly better; tolerance: allowed drop of a guard metric's mean (absolute), "
           "tolerances: per-metric overrides.")
        .def_readwrite("primary", &gate_config::primary)
        .def_readwrite("require", &gate_config::require)
        .def_readwrite("alpha", &gate_config::alpha)
        .def_readwrite("method", &gate_config::method)
        .def_readwrite("rounds", &gate_config::rounds)
        .def_readwrite("guard", &gate_config::guard)
        .def_readwrite("tolerance", &gate_config::tolerance)
        .def_readwrite("tolerances", &gate_config::tolerances)
        .def_readwrite("min_queries", &gate_config::min_queries)
        .def_readwrite("seed", &gate_config::seed)
        .def("to_dict", [](const gate_config& c) { return as_dict_t(json_to_py(json(c))); }, "The JSON form as a dict.")
        .def_static("from_dict", [](const dict_t& d) { return from_dict_arg<gate_config>(d, "GateConfig.from_dict"); },
                    "d"_a, "A GateConfig from its dict form; missing keys keep their defaults. Raises ConfigError.")
        .def("__eq__", [](const gate_config& a, const gate_config& b) { return json(a) == json(b); }, py::is_operator())
        .def("__repr__", [](const gate_config& c) {
            return "GateConfig(primary=" + list_repr(c.primary) + ", require='" + c.require + "', alpha=" +
                   std::string(py::repr(py::float_(c.alpha))) + ", guard=" + list_repr(c.guard) +
                   ", tolerance=" + std::string(py::repr(py::float_(c.tolerance))) + ", min_queries=" +
                   std::to_string(c.min_queries) + ")";
        });

    // ---- GateDecision ----
    py::class_<gate_decision>(m, "GateDecision",
                              "The outcome of gate(): promote or not, a one-line reason with numbers, every "
                              "comparison (to_dict) and a Markdown table (to_markdown).")
        .def_readonly("promote", &gate_decision::promote)
        .def_readonly("reason", &gate_decision::reason)
        .def_readonly("deciding_metric", &gate_decision::deciding_metric, "'' when no metric decided (too few queries).")
        .def_readonly("deciding_set", &gate_decision::deciding_set, "'fresh', 'guard' or ''.")
        .def_readonly("fresh_queries", &gate_decision::fresh_queries)
        .def_readonly("guard_queries", &gate_decision::guard_queries)
        .def_readonly("guard_regressions", &gate_decision::guard_regressions)
        .def("to_dict", [](const gate_decision& d) { return as_dict_t(json_to_py(d.to_json())); },
             "{promote, reason, deciding_metric, deciding_set, fresh_queries, guard_queries, fresh: [{metric, set, "
             "better, worse, tolerance, regression, result}], guard: [...], guard_regressions, config}.")
        .def("to_markdown", &gate_decision::to_markdown, "The decision, its reason and a table of every comparison.")
        .def("__bool__", [](const gate_decision& d) { return d.promote; }, "True when promoted.")
        .def("__repr__", [](const gate_decision& d) {
            return std::string("GateDecision(promote=") + (d.promote ? "True" : "False") + ", reason=" +
                   repr_str(d.reason, 200) + ")";
        });

    m.def(
        "gate",
        [](py::handle champion, py::handle challenger, py::handle config) {
            const gate_config c = gate_config_arg(config);
            const gate_scores a = scores_arg(champion, "champion"), b = scores_arg(challenger, "challenger");
            py::gil_scoped_release nogil;
            return gate(a, b, c);
        },
        "champion"_a, "challenger"_a, "config"_a = py::none(),
        R"doc(Gated promotion: whether ``challenger`` replaces ``champion``.

Each argument: {"fresh": {metric: per-query scores}, "guard": {metric: per-query scores}}
(lists or numpy arrays; the same queries in the same order for every metric and both systems).
config: GateConfig, its dict form or None (defaults). Rejected when too few queries, when a
primary metric is significantly worse on fresh, when a guard metric fell by more than its
tolerance, or when the primary metrics are not significantly better (all or any).
Raises ConfigError (bad config, missing metric), DimensionError (lengths differ, NaN).)doc");

    // ---- SchedulerConfig ----
    py::class_<scheduler_config> sc(m, "SchedulerConfig",
                                    "Settings of the Scheduler: count thresholds per annotation type, cadence, drift.");
    sc.def(py::init([](std::map<std::string, std::int64_t> min_counts, std::int64_t cadence_ms,
                       std::int64_t cadence_min_annotations, double drift_threshold, std::int64_t drift_min_window) {
               scheduler_config c;
               c.min_counts.clear();
               for (const auto& [k, v] : min_counts) {
                   if (v < 0)
                       throw config_error("SchedulerConfig: min_counts['" + k + "'] out of range (got " +
                                          std::to_string(v) + ", expected >= 0)");
                   c.min_counts[k] = static_cast<std::size_t>(v);
               }
               if (cadence_min_annotations < 0 || drift_min_window < 0)
                   throw config_error("SchedulerConfig: negative count (got cadence_min_annotations " +
                                      std::to_string(cadence_min_annotations) + ", drift_min_window " +
                                      std::to_string(drift_min_window) + ", expected >= 0)");
               c.cadence_ms = cadence_ms;
               c.cadence_min_annotations = static_cast<std::size_t>(cadence_min_annotations);
               c.drift_threshold = drift_threshold;
               c.drift_min_window = static_cast<std::size_t>(drift_min_window);
               validate(c, "SchedulerConfig");
               return c;
           }),
           py::kw_only(),
           "min_counts"_a = std::map<std::string, std::int64_t>{
               {"preference", 200}, {"adoption", 200}, {"knowledge_relevance", 200}, {"missing_knowledge", 50}},
           "cadence_ms"_a = scheduler_config{}.cadence_ms, "cadence_min_annotations"_a = 1, "drift_threshold"_a = 0.1,
           "drift_min_window"_a = 100,
           "All keyword arguments; validated. min_counts: {annotation type: new annotations that trigger a run} "
           "(types: preference, adoption, knowledge_relevance, missing_knowledge; absent or 0 = no count "
           "trigger); cadence_ms: 0 = no cadence trigger; drift_min_window: 0 = no drift trigger.")
        .def_readwrite("min_counts", &scheduler_config::min_counts)
        .def_readwrite("cadence_ms", &scheduler_config::cadence_ms)
        .def_readwrite("cadence_min_annotations", &scheduler_config::cadence_min_annotations)
        .def_readwrite("drift_threshold", &scheduler_config::drift_threshold)
        .def_readwrite("drift_min_window", &scheduler_config::drift_min_window)
        .def("to_dict", [](const scheduler_config& c) { return as_dict_t(json_to_py(json(c))); }, "The JSON form as a dict.")
        .def_static("from_dict",
                    [](const dict_t& d) { return from_dict_arg<scheduler_config>(d, "SchedulerConfig.from_dict"); },
                    "d"_a, "A SchedulerConfig from its dict form; missing keys keep their defaults. Raises ConfigError.")
        .def("__eq__", [](const scheduler_config& a, const scheduler_config& b) { return json(a) == json(b); },
             py::is_operator())
        .def("__repr__", [](const scheduler_config& c) {
            return "SchedulerConfig(" + json(c).dump() + ")";
        });

    // ---- SchedulerState ----
    py::class_<scheduler_state>(m, "SchedulerState",
                                "What the Scheduler knows: new annotations per type since the last run, the last "
                                "run time, and the adoption / relevance rates of the baseline window and since the "
                                "last run. Not thread-safe.")
        .def(py::init<>())
        .def(
            "observe",
            [](scheduler_state& s, py::handle a) {
                if (PyList_Check(a.ptr()) || PyTuple_Check(a.ptr())) {
                    std::vector<annotation> v;
                    for (auto x : a) v.push_back(annotation_from_py(x));  // all parsed before any is counted
                    for (const auto& x : v) s.observe(x);
                } else {
                    s.observe(annotation_from_py(a));
                }
            },
            "annotation"_a,
            "Counts one annotation, or a list of them (Annotation objects or dicts in the JSON form; "
            "ConfigError naming the field for a bad dict).")
        .def("record_run", &scheduler_state::record_run, "now_ms"_a, "rebaseline"_a = false,
             "Records that a cycle ran at now_ms: clears the counts and the window since the last run, which "
             "becomes the baseline when rebaseline is set or no baseline exists yet.")
        .def_property_readonly(
            "counts",
            [](const scheduler_state& s) {
                std::map<std::string, std::size_t> out;
                for (std::size_t k = 0; k < 4; ++k)
                    out[std::string(detail::enum_names<annotation_kind>::names[k])] = s.counts[k];
                return out;
            },
            "{annotation type: new annotations since the last run}.")
        .def_readwrite("last_run_ms", &scheduler_state::last_run_ms, "-1 = never.")
        .def_readwrite("window_start_ms", &scheduler_state::window_start_ms,
                       "Earliest annotation timestamp since the last run; -1 = none.")
        .def("to_dict", [](const scheduler_state& s) { return as_dict_t(json_to_py(json(s))); },
             "{counts, last_run_ms, window_start_ms, baseline: {adoption: {n, positive, rate}, relevance: ...}, "
             "recent: {...}}.")
        .def_static("from_dict",
                    [](const dict_t& d) { return from_dict_arg<scheduler_state>(d, "SchedulerState.from_dict"); },
                    "d"_a, "A SchedulerState from its dict form. Raises ConfigError.")
        .def("__eq__", [](const scheduler_state& a, const scheduler_state& b) { return a == b; }, py::is_operator())
        .def("__repr__", [](const scheduler_state& s) { return "SchedulerState(" + json(s).dump() + ")"; });

    // ---- ScheduleDecision / Scheduler ----
    py::class_<schedule_decision>(m, "ScheduleDecision",
                                  "Answer of Scheduler.due(): run, retrain (subset of 'encoder', 'reranker', "
                                  "'reward_model'), reasons (with numbers).")
        .def_readonly("run", &schedule_decision::run)
        .def_readonly("retrain", &schedule_decision::retrain)
        .def_readonly("reasons", &schedule_decision::reasons)
        .def("to_dict", [](const schedule_decision& d) { return as_dict_t(json_to_py(d.to_json())); }, "{run, retrain, reasons}.")
        .def("__bool__", [](const schedule_decision& d) { return d.run; }, "True when a cycle is due.")
        .def("__repr__", [](const schedule_decision& d) {
            return std::string("ScheduleDecision(run=") + (d.run ? "True" : "False") + ", retrain=" +
                   list_repr(d.retrain) + ", reasons=" + list_repr(d.reasons) + ")";
        });

    py::class_<scheduler>(m, "Scheduler",
                          "When to run a flywheel cycle and what to retrain: count triggers (relevance -> encoder + "
                          "reranker; preference / adoption -> reward_model), cadence and drift (-> all models).")
        .def(py::init([](py::handle config) { return scheduler(scheduler_config_arg(config)); }), "config"_a = py::none(),
             "config: SchedulerConfig, its dict form or None (defaults). Raises ConfigError.")
        .def_property_readonly("config", [](const scheduler& s) { return s.config(); })
        .def("due", &scheduler::due, "state"_a, "now_ms"_a,
             "Whether a cycle is due at now_ms (Unix milliseconds) and what it retrains; not due is a normal result "
             "whose reasons say how far each trigger is.")
        .def("__repr__", [](const scheduler& s) { return "Scheduler(" + json(s.config()).dump() + ")"; });
}

}  // namespace aitl::python
