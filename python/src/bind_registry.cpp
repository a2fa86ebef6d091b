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
    py_registry(const std::string& path, registry_options options) {
        py::gil_scoped_release release;
        r_ = std::make_unique<model_registry>(path, options);
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
        "rename, fsync the directory), so a crash at any moment leaves the old or the new state, never a mix. "
        "Recovery never deletes what the registry did not create: opening moves whatever in versions/ the "
        "manifest does not list to quarantine/<name>[.N] (only a version folder that provably never reached a "
        "commit is removed), lists it in `recovered` and prints one line on stderr; a folder without manifest.json "
        "that is not empty is refused (StateError, nothing touched). With verify_artifacts (default) the files are "
        "checked against the manifest's size and SHA-256 on open (the champion), file(), promote() and "
        "rollback(). Several objects or processes may share one directory: writers take a file lock and re-read "
        "the manifest. Versions are dicts: {'version', 'parent', 'watermark', 'metrics', 'decision', 'created', "
        "'status', 'note', 'artifacts': [{'name', 'sha256', 'bytes'}]}; status is 'challenger', 'champion', "
        "'retired' or 'rejected'. Thread-safe; the GIL is released during file work.")
        .def(py::init([](const py::object& path, bool verify_artifacts) {
                 registry_options o;
                 o.verify_artifacts = verify_artifacts;
                 return std::make_unique<py_registry>(path_arg(path), o);
             }),
             "path"_a, "verify_artifacts"_a = true,
             "Opens (or creates) the registry in folder `path` (str or os.PathLike) and recovers after a crash. "
             "verify_artifacts=False skips the size and SHA-256 checks of open, file(), promote() and rollback() "
             "(verify() still checks). Raises StateError when the folder has no manifest.json but is not empty "
             "(a registry whose manifest was lost, or someone else's files: nothing is changed; the message says "
             "how to recover), IoError when it cannot be created or read or a champion file is missing or differs "
             "from the manifest, ParseError (.file, .field) when manifest.json is malformed or inconsistent.")
        .def(
            "add",
            [](py_registry& self, const dict_t& files, const std::optional<std::string>& parent,
               std::int64_t watermark, const py::object& metrics, const std::string& note) {
                std::map<std::string, std::filesystem::path> f;
                for (auto item : files) {
                    if (!py::isinstance<py::str>(item.first))
                        throw py::type_error("ModelRegistry.add: artifact names must be str (got " +
                                             type_name(item.first) + ")");
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
            "metrics: a dict whose numbers are all finite. Returns the version id ('v000001', ...). Raises "
            "ConfigError (no files, bad name, watermark < 0, metrics not a dict, a NaN or inf metric at any depth, "
            "named by its path such as 'metrics.loss[2]'), NotFoundError (unknown parent), IoError (unreadable "
            "source); nothing is registered then.")
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
            "(unknown version), StateError (already champion, or rejected), IoError naming the file and both "
            "hashes when a file of `version` is missing or differs from the manifest (nothing changes).")
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
            "champion (nothing changes). Raises IoError naming the file and both hashes when a file of the "
            "version to reinstate is missing or differs from the manifest: the rollback is refused, nothing "
            "changes (restore the file, or reject that version and roll back again, or promote another).")
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
            "The path of artifact `name` of `version`, checked against the manifest's size and SHA-256 first "
            "(with verify_artifacts; hashed once per process while the file is unchanged). Raises NotFoundError "
            "for an unknown version or name, IoError naming the file and both hashes when it is missing or "
            "differs.")
        .def(
            "verify",
            [](const py_registry& self, const std::string& version) {
                py::gil_scoped_release release;
                self.get().verify(version);
            },
            "version"_a,
            "Re-hashes every artifact file of `version` against the manifest (always, whatever verify_artifacts "
            "says). Raises IoError naming the file when one is missing or its size or SHA-256 differs; "
            "NotFoundError for an unknown version.")
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
            "recovered",
            [](const py_registry& self) {
                py::list out;
                for (const auto& r : self.get().recovered()) out.append(json_to_py(json(r)));
                return py::reinterpret_steal<py::typing::List<dict_t>>(out.release());
            },
            "What recovery did to entries of versions/ that no commit names, as dicts {'action': 'quarantined' "
            "or 'removed', 'from': path, 'to': path under quarantine/ ('' when removed), 'reason'}: when this "
            "object opened, and when its add() met a folder left by another process's interrupted add. Empty "
            "after a clean open.")
        .def_property_readonly(
            "verify_artifacts", [](const py_registry& self) { return self.get().options().verify_artifacts; },
            "Whether open, file(), promote() and rollback() check files against the manifest (the constructor "
            "argument).")
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
