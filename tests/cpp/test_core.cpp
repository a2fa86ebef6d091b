// Tests of the vocabulary types, errors and slot contracts (concepts.hpp).
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/types.hpp>
#include <aitl/version.hpp>

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
