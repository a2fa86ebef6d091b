// Tests of the vocabulary types, errors and slot contracts (concepts.hpp).
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/types.hpp>
#include <aitl/version.hpp>
#include <aitl/detail/json_parse.hpp>

#include "aitl_catch.hpp"

TEST_CASE("parse_error carries file, line and field", "[error]") {
    aitl::parse_error e("corpus.jsonl", 7, "_id", "missing (expected a string)");
    CHECK(e.file() == "corpus.jsonl");
    CHECK(e.line() == 7);
    CHECK(e.field() == "_id");
    CHECK(std::string(e.what()) == "corpus.jsonl:7: field '_id': missing (expected a string)");
    CHECK_THROWS_AS(throw e, aitl::error);
}

TEST_CASE("every aitl exception is an aitl::error and a std::runtime_error", "[error]") {
    CHECK_THROWS_AS(throw aitl::config_error("x"), aitl::error);
    CHECK_THROWS_AS(throw aitl::dimension_error("x"), aitl::error);
    CHECK_THROWS_AS(throw aitl::not_found("x"), aitl::error);
    CHECK_THROWS_AS(throw aitl::io_error("x"), aitl::error);
    CHECK_THROWS_AS(throw aitl::state_error("x"), std::runtime_error);
}

TEST_CASE("reference models satisfy their slot contracts", "[concepts]") {
    STATIC_REQUIRE(aitl::is_retriever_v<aitl::retriever_model>);
    STATIC_REQUIRE(aitl::is_encoder_v<aitl::encoder_model>);
    STATIC_REQUIRE_FALSE(aitl::is_retriever_v<int>);
    STATIC_REQUIRE_FALSE(aitl::is_encoder_v<aitl::retriever_model>);
    aitl::encoder_model enc;
    CHECK(enc.encode({"a", "b"}).rows() == 2);
}

TEST_CASE("document indexed text joins title and body", "[types]") {
    aitl::document d{"d1", "Refunds", "How to get a refund.", nlohmann::json::object(), 1};
    CHECK(d.indexed_text() == "Refunds\nHow to get a refund.");
    d.title.clear();
    CHECK(d.indexed_text() == "How to get a refund.");
    CHECK(std::string(aitl::version_string) == AITL_VERSION_STRING);
}

TEST_CASE("parse_json checks UTF-8 and depth before parsing, skipping strings and escapes", "[core]") {
    using aitl::detail::parse_json;
    const std::size_t limit = aitl::json_max_depth;
    // Brackets inside strings (and escaped quotes) do not count towards the depth.
    const std::string in_string = "[\"" + std::string(1000, '[') + "\\\"[[[\"]";
    CHECK(parse_json(in_string, "f", 1, "t").at(0).get<std::string>().size() == 1004);
    CHECK(parse_json(std::string(limit, '[') + std::string(limit, ']'), "f", 1, "t").is_array());
    const std::string too_deep = std::string(limit + 1, '[') + std::string(limit + 1, ']');
    try {
        parse_json(too_deep, "f.json", 3, "t", "k");
        FAIL("no parse_error");
    } catch (const aitl::parse_error& e) {
        CHECK(e.file() == "f.json");
        CHECK(e.line() == 3);
        CHECK(e.field() == "k");
        CHECK(std::string(e.what()).find("nested too deeply (got more than 128 levels, expected at most 128) at byte 128") !=
              std::string::npos);
    }
    // A whole file (line 0) is reported at the line of the offending byte; the BOM is skipped.
    try {
        parse_json("\xEF\xBB\xBF{\n\"a\":\n\"\xC3\x28\"}", "f.json", 0, "t");
        FAIL("no parse_error");
    } catch (const aitl::parse_error& e) {
        CHECK(e.line() == 3);
        CHECK(std::string(e.what()).find("not valid UTF-8 (got byte 0xC3, expected UTF-8 text) at byte 11") !=
              std::string::npos);
    }
    try {
        parse_json("{\n\n  \"a\" 1}", "f.json", 0, "t");
        FAIL("no parse_error");
    } catch (const aitl::parse_error& e) {
        CHECK(e.line() == 3);
        CHECK(std::string(e.what()).find("last read") == std::string::npos);
    }
    // Overlong encodings and surrogates are not UTF-8 either.
    CHECK_THROWS_AS(parse_json("\"\xC0\xAF\"", "f", 1, "t"), aitl::parse_error);
    CHECK_THROWS_AS(parse_json("\"\xED\xA0\x80\"", "f", 1, "t"), aitl::parse_error);

    // Values built in memory are measured without recursion.
    nlohmann::json j = 1;
    for (int i = 0; i < 100000; ++i) j = nlohmann::json::array({std::move(j)});
    CHECK(aitl::detail::json_depth(j) == limit + 1);  // stops counting past the limit
    CHECK_THROWS_AS(aitl::detail::check_json_depth(j, "w", "metadata"), aitl::config_error);
    CHECK(aitl::detail::json_depth(nlohmann::json{{"a", {1, {2}}}}) == 3);
}
