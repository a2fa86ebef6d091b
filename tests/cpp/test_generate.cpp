// Generators: sentences and citation markers, the extractive generator, the callback generator,
// best-of-N by a reward model, the generator contract.
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/generate/best_of_n.hpp>
#include <aitl/generate/callback_generator.hpp>
#include <aitl/generate/extractive.hpp>
#include <aitl/generate/sentences.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/reward_model.hpp>
#include <aitl/retrieval/bm25.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "aitl_catch.hpp"

namespace {
namespace fs = std::filesystem;

fs::path helpcentre() { return fs::path(__FILE__).parent_path() / ".." / ".." / "examples" / "data" / "helpcentre"; }

struct helpcentre_data {
    aitl::knowledge_base kb;
    aitl::qrels judgements;
    std::vector<std::pair<std::string, std::string>> queries;  // judged (id, text), file order
};

const helpcentre_data& data() {
    static const helpcentre_data d = [] {
        helpcentre_data s{aitl::knowledge_base::load_beir(helpcentre().string()),
                          aitl::read_qrels(helpcentre() / "qrels" / "test.tsv"), {}};
        std::ifstream in(helpcentre() / "queries.jsonl");
        for (std::string line; std::getline(in, line);) {
            if (line.empty()) continue;
            const auto j = nlohmann::json::parse(line);
            if (s.judgements.count(j.at("_id").get<std::string>()))
                s.queries.emplace_back(j.at("_id").get<std::string>(), j.at("text").get<std::string>());
        }
        return s;
    }();
    return d;
}

std::vector<aitl::reference> refs_for(const aitl::bm25& index, const std::string& query, std::size_t n = 8) {
    std::vector<aitl::reference> refs;
    for (const auto& h : index.search(query, n)) {
        const aitl::document* d = data().kb.find(h.id);
        refs.push_back({d->id, d->title, d->text, h.score});
    }
    return refs;
}

const std::vector<aitl::reference>& shipping_refs() {
    static const std::vector<aitl::reference> refs{
        {"delivery-costs", "Delivery costs",
         "Standard delivery costs 4.95 and is free on orders over 50. Express delivery costs 9.95 on every order.", 3.0},
        {"delivery-times", "Delivery times",
         "Standard delivery takes 3 to 5 working days. Express delivery arrives the next working day when you order "
         "before 2 pm.",
         2.0},
        {"international-shipping", "Shipping outside the country",
         "We ship to 24 countries in Europe. Customs duties and import taxes are paid by the recipient on arrival.", 1.0},
        {"track-order", "Tracking your order",
         "Open Orders in your account and select the order to see its tracking link. The courier updates the status "
         "within 24 hours of dispatch.",
         0.5}};
    return refs;
}

bool names_a_ref(const std::string& id, const std::vector<aitl::reference>& refs) {
    return std::any_of(refs.begin(), refs.end(), [&](const aitl::reference& r) { return r.doc_id == id; });
}

// A reward model whose score is the number of citation markers (to check the argmax).
struct citation_counter {
    double score(std::string_view, std::string_view reply, const std::vector<std::string>&) const {
        return static_cast<double>(aitl::citation_markers(reply).size());
    }
};

}  // namespace

TEST_CASE("sentences are split at sentence ends, line breaks and CJK stops, not at abbreviations", "[generate]") {
    using v = std::vector<std::string>;
    CHECK(aitl::split_sentences("Returns are free. E.g. within 30 days!\nCall us.") ==
          v{"Returns are free.", "E.g. within 30 days!", "Call us."});
    CHECK(aitl::split_sentences("It costs 4.95 today. Mr. Smith said so (really.) Next?  ") ==
          v{"It costs 4.95 today.", "Mr. Smith said so (really.)", "Next?"});
    CHECK(aitl::split_sentences("Wait... what?! OK") == v{"Wait...", "what?!", "OK"});
    CHECK(aitl::split_sentences("配送は無料です。返品できます！はい") == v{"配送は無料です。", "返品できます！", "はい"});
    CHECK(aitl::split_sentences("Crème brûlée é. Ünïcode ok") == v{"Crème brûlée é.", "Ünïcode ok"});
    CHECK(aitl::split_sentences("   \n\n ").empty());
    CHECK(aitl::split_sentences("no end mark") == v{"no end mark"});
    CHECK(aitl::count_words("  two\twords ") == 2);
}

TEST_CASE("citation markers are parsed, formatted and stripped", "[generate]") {
    using v = std::vector<std::string>;
    CHECK(aitl::citation_markers("Free over 50 [delivery-costs]. [faq:1][delivery-costs] [see above] [] [a[b]") ==
          v{"delivery-costs", "faq:1", "b"});
    CHECK(aitl::citation_markers("no markers").empty());
    CHECK(aitl::format_citation("hotel:20:faq:3") == "[hotel:20:faq:3]");
    CHECK_THROWS_AS(aitl::format_citation(""), aitl::config_error);
    CHECK_THROWS_AS(aitl::format_citation("two words"), aitl::config_error);
    CHECK_THROWS_AS(aitl::format_citation("a]b"), aitl::config_error);
    CHECK(aitl::strip_citations("Free over 50 [delivery-costs]. Next [x] one [see above]") ==
          "Free over 50. Next one [see above]");
}

TEST_CASE("the extractive generator quotes relevant sentences and cites only given references", "[generate]") {
    const aitl::extractive_generator gen;
    CHECK(gen.variants() == std::vector<std::string>{"top", "coverage"});
    const auto& refs = shipping_refs();
    const auto top = gen.generate("is delivery free if I spend a lot", refs, "top");
    CHECK(top.variant == "top");
    CHECK(top.text == "Standard delivery costs 4.95 and is free on orders over 50. [delivery-costs]");
    CHECK(top.citations == std::vector<std::string>{"delivery-costs"});

    const auto cov = gen.generate("how long does express delivery take and what does it cost", refs, "coverage");
    CHECK(cov.citations.size() >= 2);
    for (const auto& id : cov.citations) CHECK(names_a_ref(id, refs));
    CHECK(aitl::citation_markers(cov.text) == cov.citations);
    // each cited reference's marker comes right after its own sentences
    CHECK(cov.text.find("[delivery-costs]") < cov.text.find("[delivery-times]"));
    CHECK(cov.text.back() == ']');
}

TEST_CASE("extractive variants differ, and the output is deterministic", "[generate]") {
    const auto& d = data();
    aitl::bm25 index;
    index.add(d.kb);
    const aitl::extractive_generator a, b;
    std::size_t differ = 0, cited_relevant = 0;
    for (const auto& [qid, query] : d.queries) {
        const auto refs = refs_for(index, query);
        const auto top = a.generate(query, refs, "top");
        const auto cov = a.generate(query, refs, "coverage");
        CHECK(top.text == b.generate(query, refs, "top").text);  // a fresh generator: same bytes
        CHECK(cov.text == a.generate(query, refs, "coverage").text);
        differ += top.text != cov.text;
        for (const auto* r : {&top, &cov}) {
            REQUIRE_FALSE(r->citations.empty());
            CHECK(aitl::citation_markers(r->text) == r->citations);
            for (const auto& id : r->citations) CHECK(names_a_ref(id, refs));
            CHECK(aitl::count_words(aitl::strip_citations(r->text)) <= (r == &top ? 60u : 100u));
        }
        cited_relevant += d.judgements.at(qid).count(top.citations.front()) &&
                          d.judgements.at(qid).at(top.citations.front()) > 0;
    }
    CHECK(differ * 3 >= d.queries.size());              // variants differ on at least a third of the cases
    CHECK(cited_relevant * 10 >= d.queries.size() * 7);  // the first citation is relevant for >= 70 %
}

TEST_CASE("the extractive generator handles no references, long texts, markers in the text", "[generate]") {
    const aitl::extractive_generator gen;
    const auto none = gen.generate("where is my parcel", {}, "top");
    CHECK(none.text == gen.config().fallback);
    CHECK(none.citations.empty());
    CHECK(none.variant == "top");
    CHECK(gen.generate("where is my parcel", {{"empty", "", "   ", 1.0}}, "coverage").citations.empty());

    // one very long sentence: cut at a word boundary, still cited
    std::string words;
    for (int i = 0; i < 500; ++i) words += "parcel élan ";
    const auto cut = gen.generate("parcel", {{"long", "", words, 1.0}}, "top");
    CHECK(cut.citations == std::vector<std::string>{"long"});
    CHECK(aitl::count_words(cut.text) == 61);  // 60 words ("...") + the marker
    CHECK(cut.text.find("... [long]") != std::string::npos);

    // many sentences: only the first max_sentences_per_reference compete
    std::string many;
    for (int i = 0; i < 300; ++i) many += "Filler sentence number " + std::to_string(i) + ". ";
    many += "The parcel is at the depot.";
    aitl::extractive_config cfg;
    cfg.max_sentences_per_reference = 400;
    CHECK(aitl::extractive_generator(cfg).generate("parcel depot", {{"many", "", many, 1.0}}, "top").text ==
          "The parcel is at the depot. [many]");
    CHECK(gen.generate("parcel depot", {{"many", "", many, 1.0}}, "top").text.find("depot") == std::string::npos);

    // footnote markers inside a reference never reach the reply; no overlap: the lead sentence
    const auto noted = gen.generate("zebra", {{"doc-1", "", "See the table [3]. Another sentence.", 1.0}}, "top");
    CHECK(noted.text == "See the table. [doc-1]");
    CHECK(aitl::citation_markers(noted.text) == std::vector<std::string>{"doc-1"});

    // repeated doc ids are read once
    const auto twice = gen.generate("delivery costs", {shipping_refs()[0], shipping_refs()[0]}, "coverage");
    CHECK(twice.citations == std::vector<std::string>{"delivery-costs"});
}

TEST_CASE("extractive generator errors: unknown variant, uncitable ids, bad settings", "[generate]") {
    const aitl::extractive_generator gen;
    CHECK_THROWS_AS(gen.generate("q", shipping_refs(), "nope"), aitl::config_error);
    CHECK_THROWS_AS(gen.generate("q", {{"two words", "", "text.", 1.0}}, "top"), aitl::config_error);
    CHECK_THROWS_AS(gen.generate("q", {{"", "", "text.", 1.0}}, "top"), aitl::config_error);
    try {
        gen.generate("q", {}, "nope");
        FAIL("no throw");
    } catch (const aitl::config_error& e) {
        CHECK(std::string(e.what()) ==
              "extractive_generator::generate: unknown variant (got 'nope', expected one of top, coverage)");
    }
    auto bad = [](auto edit) {
        aitl::extractive_config c;
        edit(c);
        return c;
    };
    using C = aitl::extractive_config;
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants.clear(); })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants[1].name = "top"; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants[0].name = ""; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants[0].references = 0; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants[0].max_words = 0; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.variants[0].redundancy = 1.5; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.b = -0.1; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::extractive_generator(bad([](C& c) { c.fallback = " "; })), aitl::config_error);
    aitl::extractive_variant v{"adhoc", 1, aitl::selection_strategy::mmr, 1, 10, 0.5, 0.5, 0.3, 0.9};
    CHECK(gen.generate_with("delivery times", shipping_refs(), v).variant == "adhoc");
    v.min_relevance = 2.0;
    CHECK_THROWS_AS(gen.generate_with("q", shipping_refs(), v), aitl::config_error);
}

TEST_CASE("extractive config round-trips through JSON and rejects unknown keys", "[generate]") {
    aitl::extractive_config c;
    c.variants.push_back({"short", 1, aitl::selection_strategy::relevance, 1, 20, 0.0, 0.5, 0.0, 0.5});
    c.question_penalty = 0.25;
    nlohmann::json j = c;
    CHECK(j["variants"][1]["strategy"] == "mmr");
    aitl::extractive_config back = j.get<aitl::extractive_config>();
    CHECK(back.variants == c.variants);
    CHECK(back.question_penalty == 0.25);
    CHECK(nlohmann::json(back) == j);
    CHECK(aitl::extractive_generator(back).variants() == std::vector<std::string>{"top", "coverage", "short"});
    CHECK_THROWS_AS(nlohmann::json({{"max_words", 3}}).get<aitl::extractive_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json::parse(R"({"variants": [{"name": "x", "strategy": "best"}]})").get<aitl::extractive_config>(),
                    aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json::parse(R"({"variants": [{"name": "x", "references": 0}]})").get<aitl::extractive_config>(),
                    aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json::parse(R"({"variants": {"name": "x"}})").get<aitl::extractive_config>(),
                    aitl::config_error);
}

TEST_CASE("the callback generator wraps a function and keeps only citations of given references", "[generate]") {
    std::atomic<int> calls{0};
    aitl::callback_generator gen(
        [&](std::string_view query, const std::vector<aitl::reference>& refs, std::string_view variant) {
            ++calls;
            if (refs.empty()) return std::string("Nothing found.");
            return std::string(variant) + ": " + std::string(query) + " [" + refs[0].doc_id + "] [made-up] [" +
                   refs[0].doc_id + "]";
        },
        {"short", "long"});
    CHECK(gen.variants() == std::vector<std::string>{"short", "long"});
    const auto r = gen.generate("hi", shipping_refs(), "long");
    CHECK(r.text == "long: hi [delivery-costs] [made-up] [delivery-costs]");
    CHECK(r.citations == std::vector<std::string>{"delivery-costs"});
    CHECK(r.variant == "long");
    CHECK(gen.generate("hi", {}, "short").citations.empty());
    CHECK_THROWS_AS(gen.generate("hi", {}, "default"), aitl::config_error);
    CHECK(calls == 2);

    CHECK_THROWS_AS(aitl::callback_generator(aitl::generate_callback{}), aitl::config_error);
    auto f = [](std::string_view, const std::vector<aitl::reference>&, std::string_view) { return std::string(); };
    CHECK_THROWS_AS(aitl::callback_generator(f, {}), aitl::config_error);
    CHECK_THROWS_AS(aitl::callback_generator(f, {"a", "a"}), aitl::config_error);
    CHECK_THROWS_AS(aitl::callback_generator(f, {""}), aitl::config_error);
    CHECK(aitl::callback_generator(f).variants() == std::vector<std::string>{"default"});

    // concurrent calls of a const generator
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) ts.emplace_back([&] { for (int i = 0; i < 25; ++i) (void)gen.generate("q", shipping_refs(), "short"); });
    for (auto& t : ts) t.join();
    CHECK(calls == 102);
}

TEST_CASE("best of N picks the reward model's argmax", "[generate]") {
    const auto& refs = shipping_refs();
    const std::string q = "how long does express delivery take and what does it cost";
    const aitl::extractive_generator ex;
    const std::vector<aitl::generated_reply> cands{ex.generate(q, refs, "top"), ex.generate(q, refs, "coverage"),
                                                   {"no citations at all", {}, "plain"}};
    const auto r = aitl::best_of_n(citation_counter{}, q, cands, refs);
    REQUIRE(r.scores.size() == 3);
    CHECK(r.best == static_cast<std::size_t>(std::max_element(r.scores.begin(), r.scores.end()) - r.scores.begin()));
    CHECK(r.scores[2] == 0.0);
    CHECK_THROWS_AS(aitl::best_of_n(citation_counter{}, q, {}, refs), aitl::config_error);
    CHECK(aitl::reward_reference_text(refs[0]).rfind("[delivery-costs] Delivery costs\nStandard", 0) == 0);
    CHECK(aitl::reward_reference_text({"x", "", "body", 0}) == "[x] body");

    aitl::reward_selected_generator<aitl::extractive_generator, citation_counter> best{aitl::extractive_generator(),
                                                                                       citation_counter{}};
    CHECK(best.variants() == std::vector<std::string>{"best", "top", "coverage"});
    const auto all = best.generate_all(q, refs);
    REQUIRE(all.size() == 2);
    const auto chosen = best.generate(q, refs, "best");
    const std::size_t arg = all[1].score > all[0].score ? 1 : 0;
    CHECK(chosen.text == all[arg].reply.text);
    CHECK(chosen.variant == all[arg].reply.variant);
    CHECK(best.generate(q, refs, "top").text == ex.generate(q, refs, "top").text);  // pass-through
    CHECK_THROWS_AS(best.generate(q, refs, "nope"), aitl::config_error);

    using best_t = aitl::reward_selected_generator<aitl::extractive_generator, citation_counter>;
    CHECK_THROWS_AS(best_t(aitl::extractive_generator(), citation_counter{}, {"nope"}), aitl::config_error);
    CHECK_THROWS_AS(best_t(aitl::extractive_generator(), citation_counter{}, {"top", "top"}), aitl::config_error);
    CHECK_THROWS_AS(best_t(aitl::extractive_generator(), citation_counter{}, {}, "top"), aitl::config_error);
    CHECK_THROWS_AS(best_t(std::shared_ptr<const aitl::extractive_generator>(), citation_counter{}), aitl::config_error);
}

TEST_CASE("best of N with the Bradley-Terry reward model prefers the reply it was trained to prefer", "[generate]") {
    const auto& refs = shipping_refs();
    // preferences: a reply that cites its references beats the same text without markers
    std::vector<aitl::preference_pair> pairs;
    std::vector<std::vector<std::string>> shown;
    const aitl::extractive_generator ex;
    for (const auto& [qid, query] : data().queries) {
        auto cited = ex.generate(query, refs, "top");
        aitl::preference_pair p;
        p.prompt = query;
        p.chosen = cited.text;
        p.rejected = aitl::strip_citations(cited.text);
        pairs.push_back(p);
        shown.push_back(aitl::reward_references(refs));
    }
    aitl::reward_model rm;
    rm.train(pairs, shown);
    aitl::reward_selected_generator<aitl::callback_generator, aitl::reward_model> best{
        aitl::callback_generator(
            [&](std::string_view q, const std::vector<aitl::reference>& rs, std::string_view v) {
                auto r = ex.generate(q, rs, "top");
                return v == "cited" ? r.text : aitl::strip_citations(r.text);
            },
            {"plain", "cited"}),
        std::move(rm)};
    const auto r = best.generate("is delivery free if I spend a lot", refs, "best");
    CHECK(r.variant == "cited");
    CHECK(r.citations == std::vector<std::string>{"delivery-costs"});
}

TEST_CASE("generator contract: detection trait and reference model", "[generate]") {
    STATIC_REQUIRE(aitl::is_generator_v<aitl::generator_model>);
    STATIC_REQUIRE(aitl::is_generator_v<aitl::extractive_generator>);
    STATIC_REQUIRE(aitl::is_generator_v<aitl::callback_generator>);
    STATIC_REQUIRE(aitl::is_generator_v<aitl::reward_selected_generator<aitl::extractive_generator, aitl::reward_model>>);
    STATIC_REQUIRE_FALSE(aitl::is_generator_v<aitl::retriever_model>);
    STATIC_REQUIRE(aitl::is_reward_scorer_v<aitl::reward_model>);
    STATIC_REQUIRE_FALSE(aitl::is_reward_scorer_v<aitl::extractive_generator>);
    STATIC_REQUIRE(aitl::is_reward_scorer_v<aitl::reward_scorer_model>);
    aitl::require_generator<aitl::extractive_generator>();
    const aitl::reward_selected_generator<aitl::extractive_generator, aitl::reward_scorer_model> any_best(
        aitl::extractive_generator(), aitl::reward_scorer_model{});
    CHECK(any_best.variants().front() == "best");
    const aitl::generator_model m;
    CHECK(m.generate("q", {}, "default").variant == "default");
    CHECK_THROWS_AS(m.generate("q", {}, "other"), aitl::config_error);
}
