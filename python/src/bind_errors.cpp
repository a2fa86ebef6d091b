// Maps aitl's C++ exception hierarchy onto Python classes (STYLE.md "Errors"):
// AitlError(RuntimeError); ConfigError, DimensionError, ParseError also ValueError;
// NotFoundError also KeyError; IoError also OSError; StateError.
#include <aitl/error.hpp>

#include "bindings.hpp"

namespace aitl::python {
namespace {

PyObject* make_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
    std::string qualified = std::string("aitl._core.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (type == nullptr) throw py::error_already_set();
    m.add_object(name, py::handle(type));  // steals? no: add_object increments
    return type;
}

PyObject* aitl_error_type = nullptr;
PyObject* config_error_type = nullptr;
PyObject* dimension_error_type = nullptr;
PyObject* not_found_type = nullptr;
PyObject* io_error_type = nullptr;
PyObject* parse_error_type = nullptr;
PyObject* state_error_type = nullptr;

}  // namespace

void bind_errors(py::module_& m) {
    py::handle runtime(PyExc_RuntimeError), value(PyExc_ValueError), key(PyExc_KeyError),
        os(PyExc_OSError);
    aitl_error_type = make_exception(m, "AitlError", py::make_tuple(runtime),
                                     "Root of every error aitl raises.");
    py::handle base(aitl_error_type);
    config_error_type = make_exception(m, "ConfigError", py::make_tuple(base, value),
                                       "An argument or setting is out of its valid range.");
    dimension_error_type = make_exception(m, "DimensionError", py::make_tuple(base, value),
                                          "A vector has the wrong dimension or holds NaN/inf.");
    parse_error_type = make_exception(m, "ParseError", py::make_tuple(base, value),
                                      "Malformed input data (message names file, line, field).");
    not_found_type = make_exception(m, "NotFoundError", py::make_tuple(base, key),
                                    "An id is not known.");
    io_error_type = make_exception(m, "IoError", py::make_tuple(base, os),
                                   "A file could not be opened, read or written.");
    state_error_type = make_exception(m, "StateError", py::make_tuple(base),
                                      "The operation is not valid in the object's current state.");

    // Messages and file names may hold bytes that are not UTF-8 (they quote user data): they are
    // decoded with backslash escapes, never turned into a SystemError.
    py::register_exception_translator([](std::exception_ptr p) {
        auto text = [](const std::string& s) {
            return py::reinterpret_steal<py::object>(
                PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "backslashreplace"));
        };
        auto set = [&](PyObject* type, const char* what) { PyErr_SetObject(type, text(what).ptr()); };
        try {
            if (p) std::rethrow_exception(p);
        } catch (const aitl::parse_error& e) {
            py::object inst = py::reinterpret_steal<py::object>(
                PyObject_CallOneArg(parse_error_type, text(e.what()).ptr()));
            if (!inst) return;  // the call set the Python error
            PyObject_SetAttrString(inst.ptr(), "file", text(e.file()).ptr());
            PyObject_SetAttrString(inst.ptr(), "line", py::int_(e.line()).ptr());
            PyObject_SetAttrString(inst.ptr(), "field", text(e.field()).ptr());
            PyErr_SetObject(parse_error_type, inst.ptr());
        } catch (const aitl::config_error& e) {
            set(config_error_type, e.what());
        } catch (const aitl::dimension_error& e) {
            set(dimension_error_type, e.what());
        } catch (const aitl::not_found& e) {
            // KeyError's str() would quote the message: set args so str() shows it plainly.
            set(not_found_type, e.what());
        } catch (const aitl::io_error& e) {
            set(io_error_type, e.what());
        } catch (const aitl::state_error& e) {
            set(state_error_type, e.what());
        } catch (const aitl::error& e) {
            set(aitl_error_type, e.what());
        }
    });
}

}  // namespace aitl::python
