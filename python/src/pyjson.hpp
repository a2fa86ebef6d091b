#pragma once
// nlohmann::json <-> Python objects (metadata, settings dicts) and path arguments, for the
// bindings of text/, kb/ and bm25.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

#include <aitl/detail/json_parse.hpp>
#include <aitl/error.hpp>

#include "bindings.hpp"

namespace aitl::python {
namespace py = pybind11;

inline py::object json_to_py(const nlohmann::json& j) {
    using t = nlohmann::json::value_t;
    switch (j.type()) {
        case t::boolean:
            return py::bool_(j.get<bool>());
        case t::number_integer:
            return py::int_(j.get<std::int64_t>());
        case t::number_unsigned:
            return py::int_(j.get<std::uint64_t>());
        case t::number_float:
            return py::float_(j.get<double>());
        case t::string:
            return py::str(j.get_ref<const std::string&>());
        case t::array: {
            py::list out;
            for (const auto& x : j) out.append(json_to_py(x));
            return std::move(out);
        }
        case t::object: {
            py::dict out;
            for (auto it = j.begin(); it != j.end(); ++it) out[py::str(it.key())] = json_to_py(*it);
            return std::move(out);
        }
        default:
            return py::none();
    }
}

// A Python str -> UTF-8; a lone surrogate (which UTF-8 cannot hold) is a ConfigError naming the
// field and the index instead of pybind11's "Unable to cast Python instance of type str".
inline std::string str_arg(py::handle h, const std::string& where, const std::string& field) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (s == nullptr) {
        py::error_already_set e;
        std::string at = "?";
        if (e.matches(PyExc_UnicodeEncodeError)) at = py::str(e.value().attr("start"));
        throw aitl::config_error(where + ": field '" + field + "': not encodable as UTF-8 (got a lone surrogate at index " +
                                 at + ", expected valid Unicode text)");
    }
    return std::string(s, static_cast<std::size_t>(n));
}

// Python value -> JSON; raises TypeError for values JSON cannot hold and ConfigError for nesting
// deeper than aitl::json_max_depth (which also stops a list that contains itself).
inline nlohmann::json py_to_json(py::handle h, const std::string& where, std::size_t depth = 0) {
    if (h.is_none()) return nullptr;
    if (py::isinstance<py::bool_>(h)) return h.cast<bool>();
    if (py::isinstance<py::int_>(h)) {
        try {
            return h.cast<std::int64_t>();
        } catch (const py::cast_error&) {
        }
        try {
            return h.cast<std::uint64_t>();
        } catch (const py::cast_error&) {
            throw aitl::config_error(where + ": integer out of the 64-bit range (got " + std::string(py::str(h)).substr(0, 40) +
                                     ", expected -2**63 .. 2**64-1)");
        }
    }
    if (py::isinstance<py::float_>(h)) return h.cast<double>();
    if (py::isinstance<py::str>(h)) return str_arg(h, where, "(value)");
    const bool dict = py::isinstance<py::dict>(h);
    if ((dict || py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) && depth >= aitl::json_max_depth)
        throw aitl::config_error(where + ": nested too deeply (got more than " + std::to_string(aitl::json_max_depth) +
                                 " levels of lists and dicts, expected at most " +
                                 std::to_string(aitl::json_max_depth) + ")");
    if (dict) {
        nlohmann::json out = nlohmann::json::object();
        for (auto item : h.cast<py::dict>()) {
            if (!py::isinstance<py::str>(item.first))
                throw py::type_error(where + ": dict keys must be str (got " + type_name(item.first) + ")");
            out[str_arg(item.first, where, "(key)")] = py_to_json(item.second, where, depth + 1);
        }
        return out;
    }
    if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
        nlohmann::json out = nlohmann::json::array();
        for (auto item : h) out.push_back(py_to_json(item, where, depth + 1));
        return out;
    }
    if (py::hasattr(h, "__index__")) return py_to_json(h.attr("__index__")(), where, depth);  // numpy integers
    if (py::hasattr(h, "__float__")) return py::float_(h.attr("__float__")()).cast<double>();
    throw py::type_error(where + ": cannot store a " + type_name(h) +
                         " in JSON (expected None, bool, int, float, str, list or dict)");
}

// str, bytes or os.PathLike -> the bytes of the file name (os.fsencode: a name that is not
// UTF-8, decoded with surrogateescape, gets its original bytes back)
inline std::string path_arg(const py::object& p) {
    return py::module_::import("os").attr("fsencode")(p).cast<std::string>();
}

}  // namespace aitl::python
