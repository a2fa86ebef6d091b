#pragma once
// One include for both Catch2 2.x (Debian 12) and Catch2 3.x (Debian 13).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

#include <string>

// The message of the exception of type E thrown by f ("<no exception>" / "<another exception type>").
template <class E, class F>
std::string what_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (...) {
        return "<another exception type>";
    }
    return "<no exception>";
}

// expr throws E and its message contains text.
#define CHECK_THROWS_NAMING(E, expr, text)                          \
    do {                                                            \
        CHECK_THROWS_AS(expr, E);                                   \
        const std::string msg_ = what_of<E>([&] { (void)(expr); }); \
        INFO(msg_);                                                 \
        CHECK(msg_.find(text) != std::string::npos);                \
    } while (0)
