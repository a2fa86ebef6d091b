// Python binding of flywheel/registry.hpp: ModelRegistry (the thread-safe aitl::model_registry).
//
// Versions come back as dicts in their JSON form; every registry call (file copies, hashing,
// fsync, the directory lock) runs with the GIL released.
#include <aitl/flywheel/registry.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;

class py_registry {
public:
    explicit py_registry(const std::string& path) {
        py::gil_scoped_release release;
        r_ = std::make_unique<model_registry>(path);
    }
    const model_registry& get() const { return *r_; }
    model_registry& get() { return *r_; }

private:
    std::unique_ptr<model_registry> r_;
};

py::object version_to_py(const model_version& v) { return json_to_py(json(v)); }

py::object optional_version_to_py(const std::optional<model_version>& v) {
    return v ? version_to_py(*v) : py::object(py::none());
}

json decision_arg(const py::object& d, const char* where) { return py_to_json(d, where); }

}  // namespace

void bind_registry(py::module_& m) {
    using opt_dict_t = py::typing::Optional<dict_t>;
    py::class_<py_registry>(
        m, "ModelRegistry",
        "A directory of versioned model artifacts with a manifest (manifest.json): champion/challenger roles, "
        "promote, reject and rollback. Every change is one atomic manifest commit (write manifest.json.tmp, fsync, "
        "rename, fsync the directory), so a crash at any moment leaves the old or the new state, never a mix; "
        "opening recovers (removes temporary files and version folders the manifest does not list). Several "
        "objects or processes may share one directory: writers take a file lock and re-read the manifest. Versions "
        "are dicts: {'version', 'parent', 'watermark', 'metrics', 'decision', 'created', 'status', 'note', "
        "'artifacts': [{'name', 'sha256', 'bytes'}]}; status is 'challenger', 'champion', 'retired' or "
        "'rejected'. Thread-safe; the GIL is released during file work.")
        .def(py::init([](const py::object& path) { return std::make_unique<py_registry>(path_arg(path)); }), "path"_a,
             "Opens (or creates) the registry in folder `path` (str or os.PathLike). Raises IoError when it cannot "
             "be created or read, ParseError (.file, .field) when manifest.json is malformed or inconsistent.")
        .def(
            "add",
            [](py_registry& self, const dict_t& files, const std::optional<std::string>& parent,
               std::int64_t watermark, const py::object& metrics, const std::string& note) {
                std::map<std::string, std::filesystem::path> f;
                for (auto item : files) {
                    if (!py::isinstance<py::str>(item.first))
                        throw py::type_error("ModelRegistry.add: artifact names must be str (got " +
                                             py_type_name(item.first) + ")");
                    f[item.first.cast<std::string>()] = path_arg(py::reinterpret_borrow<py::object>(item.second));
                }
                if (static_cast<std::size_t>(py::len(files)) != f.size())
                    throw config_error("ModelRegistry.add: duplicate artifact names");
                version_info info;
                info.parent = parent.value_or("");
                info.watermark = watermark;
                info.metrics = metrics.is_none() ? json::object() : py_to_json(metrics, "ModelRegistry.add: metrics");
                info.note = note;
                py::gil_scoped_release release;
                return self.get().add(f, info);
            },
            "files"_a, "parent"_a = py::none(), "watermark"_a = 0, "metrics"_a = py::none(),
            "note"_a = "",
            "Copies `files` ({artifact name: source path}, names are plain file names such as 'encoder.bin') "
            "durably into a new version, hashes them (SHA-256) and commits it as the challenger (a previous "
            "challenger becomes 'rejected' with decision {'reason': 'superseded'}). parent: the version it was "
            "trained from (None or '' = none); watermark: store seq of the last annotation used in training; "
            "metrics: a dict. Returns the version id ('v000001', ...). Raises ConfigError (no files, bad name, "
            "watermark < 0, metrics not a dict), NotFoundError (unknown parent), IoError (unreadable source); "
            "nothing is registered then.")
        .def(
            "promote",
            [](py_registry& self, const std::string& version, const py::object& decision) {
                json d = decision_arg(decision, "ModelRegistry.promote: decision");
                py::gil_scoped_release release;
                self.get().promote(version, d);
            },
            "version"_a, "decision"_a = py::none(),
            "Makes `version` (the challenger or a retired version) the champion and retires the old one, in one "
            "atomic commit; `decision` (the gate decision, a dict or None) is kept with it. Raises NotFoundError "
            "(unknown version), StateError (already champion, or rejected).")
        .def(
            "reject",
            [](py_registry& self, const std::string& version, const py::object& decision) {
                json d = decision_arg(decision, "ModelRegistry.reject: decision");
                py::gil_scoped_release release;
                self.get().reject(version, d);
            },
            "version"_a, "decision"_a,
            "Marks `version` (the challenger or a retired version) 'rejected' with the gate decision. Raises "
            "NotFoundError, StateError (the champion: use rollback(); already rejected).")
        .def(
            "rollback",
            [](py_registry& self) {
                py::gil_scoped_release release;
                return self.get().rollback();
            },
            "Reinstates the previous champion of the champion history (skipping versions rejected since); the "
            "current champion becomes 'retired'. Returns the new champion, or None when there is no previous "
            "champion (nothing changes).")
        .def_property_readonly(
            "champion",
            [](const py_registry& self) -> opt_dict_t {
                std::optional<model_version> v;
                {
                    py::gil_scoped_release release;
                    v = self.get().champion();
                }
                return py::reinterpret_steal<opt_dict_t>(optional_version_to_py(v).release());
            },
            "The champion version as a dict, or None when none was promoted.")
        .def_property_readonly(
            "challenger",
            [](const py_registry& self) -> opt_dict_t {
                std::optional<model_version> v;
                {
                    py::gil_scoped_release release;
                    v = self.get().challenger();
                }
                return py::reinterpret_steal<opt_dict_t>(optional_version_to_py(v).release());
            },
            "The challenger (added, neither promoted nor rejected) as a dict, or None.")
        .def(
            "versions",
            [](const py_registry& self) {
                std::vector<model_version> vs;
                {
                    py::gil_scoped_release release;
                    vs = self.get().versions();
                }
                py::list out;
                for (const auto& v : vs) out.append(version_to_py(v));
                return py::reinterpret_steal<py::typing::List<dict_t>>(out.release());
            },
            "Every version as a dict, in id order.")
        .def(
            "get",
            [](const py_registry& self, const std::string& version) {
                model_version v;
                {
                    py::gil_scoped_release release;
                    v = self.get().get(version);
                }
                return as_dict_t(version_to_py(v));
            },
            "version"_a, "The version as a dict. Raises NotFoundError (a KeyError).")
        .def(
            "file",
            [](const py_registry& self, const std::string& version, const std::string& name) {
                std::filesystem::path p;
                {
                    py::gil_scoped_release release;
                    p = self.get().file(version, name);
                }
                return p.string();
            },
            "version"_a, "name"_a,
            "The path of artifact `name` of `version`. Raises NotFoundError for an unknown version or name.")
        .def(
            "verify",
            [](const py_registry& self, const std::string& version) {
                py::gil_scoped_release release;
                self.get().verify(version);
            },
            "version"_a,
            "Re-hashes every artifact file of `version` against the manifest. Raises IoError naming the file when "
            "one is missing or its size or SHA-256 differs; NotFoundError for an unknown version.")
        .def(
            "manifest",
            [](const py_registry& self) {
                json j;
                {
                    py::gil_scoped_release release;
                    j = self.get().manifest();
                }
                return as_dict_t(json_to_py(j));
            },
            "The committed manifest as a dict: format, format_version, next_id, champion, champion_history, "
            "versions.")
        .def_property_readonly(
            "path", [](const py_registry& self) { return self.get().dir().string(); },
            "The registry folder (absolute).")
        .def("__repr__", [](const py_registry& self) {
            const std::string head = "ModelRegistry(path=" + py::repr(py::str(self.get().dir().string())).cast<std::string>();
            std::optional<model_version> c, ch;
            std::size_t n = 0;
            try {
                py::gil_scoped_release release;
                const auto vs = self.get().versions();
                n = vs.size();
                for (const auto& v : vs) {
                    if (v.status == "champion") c = v;
                    if (v.status == "challenger") ch = v;
                }
            } catch (const aitl::error& e) {  // repr() must not raise: show why the manifest is unreadable
                return head + ", error=" + repr_str(e.what(), 120) + ")";
            }
            return head + ", versions=" + std::to_string(n) + ", champion=" + (c ? "'" + c->version + "'" : "None") +
                   ", challenger=" + (ch ? "'" + ch->version + "'" : "None") + ")";
        });
}

}  // namespace aitl::python
