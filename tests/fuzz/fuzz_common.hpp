// Shared helpers of the libFuzzer targets: a private scratch folder per process (removed at
// exit) for loaders that only take a path. The targets catch aitl::error only, so any other
// exception reaches std::terminate at its throw site and libFuzzer reports it with the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

namespace aitl_fuzz {

// Created on first use under $TMPDIR (scripts/fuzz.sh points it into build/fuzz/work), removed
// by exit(); a crash leaves it behind. Never destroyed, so the atexit handler may still use it.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path* dir = [] {
        std::string tmpl = (std::filesystem::temp_directory_path() / "aitl-fuzz-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::perror("aitl fuzz: mkdtemp");
            std::abort();
        }
        auto* d = new std::filesystem::path(tmpl);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(scratch_dir(), ec);
        });
        return d;
    }();
    return *dir;
}

// Writes `data` to <scratch>/<name> (truncating) and returns the path.
inline std::string write_file(const std::string& name, std::string_view data) {
    const std::string path = (scratch_dir() / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
        std::fprintf(stderr, "aitl fuzz: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path;
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace aitl_fuzz
