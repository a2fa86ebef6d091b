// Tests of pipeline.hpp: a pipeline assembled from BM25, a reranker (identity, learned feature
// ranker), a generator and the SQLite store on the DSTC11 Track 5 FAQs; screen positions,
// annotations recorded against stored impressions, batches, swaps while serving, settings.
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/compile.hpp>
#include <aitl/pipeline.hpp>
#include <aitl/pipeline_config.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/reranked.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

namespace {

// A small conforming generator: "top" cites the best reference, "coverage" the first three.
struct test_generator {
    std::vector<std::string> variants() const { return {"top", "coverage"}; }
    aitl::generated_reply generate(std::string_view, const std::vector<aitl::reference>& refs,
                                   std::string_view variant) const {
        aitl::generated_reply r;
        r.variant = std::string(variant);
        const std::size_t n = variant == "top" ? 1 : 3;
        for (std::size_t i = 0; i < refs.size() && i < n; ++i) {
            r.text += (r.text.empty() ? "" : " ") + refs[i].text.substr(0, 60) + " [" + refs[i].doc_id + "]";
            r.citations.push_back(refs[i].doc_id);
        }
        return r;
    }
};

}  // namespace

// Explicit instantiations: every non-template member compiles for both policies and for the
// reference models of the slots.
template class aitl::basic_pipeline<aitl::bm25, aitl::identity_reranker, test_generator, aitl::sqlite_store>;
template class aitl::basic_pipeline<aitl::bm25, aitl::feature_ranker, test_generator, aitl::sqlite_store_st,
                                    aitl::detail::null_mutex>;
template class aitl::basic_pipeline<aitl::retriever_model, aitl::reranker_model, test_generator, aitl::store_model>;
template class aitl::basic_pipeline<aitl::bm25, aitl::feature_ranker, aitl::extractive_generator, aitl::sqlite_store>;
static_assert(std::is_same<aitl::pipeline, aitl::pipeline_mt>::value, "pipeline is the concurrent default");
static_assert(std::is_move_constructible<aitl::pipeline>::value && !std::is_copy_constructible<aitl::pipeline>::value,
              "a pipeline is movable, not copyable");

namespace {

using bm25_pipeline = aitl::basic_pipeline<aitl::bm25, aitl::identity_reranker, test_generator, aitl::sqlite_store>;
using ranked_pipeline = aitl::basic_pipeline<aitl::bm25, aitl::feature_ranker, test_generator, aitl::sqlite_store>;

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() /
               ("aitl_test_pipeline_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string db(const std::string& name = "feedback.db") const { return (path / name).string(); }
};

// DSTC11 Track 5: every FAQ as a document (entity name, question + answer); the validation
// split's turns that need knowledge (the last three turns as the query), with their relevant FAQs.
struct dstc11_data {
    aitl::knowledge_base kb;
    std::vector<std::string> questions;
    std::vector<std::vector<std::string>> relevant;
};

const dstc11_data& dstc11() {
    static const dstc11_data data = [] {
        dstc11_data out;
        const fs::path root = fs::path(AITL_DATA_DIR) / "dstc11-track5";
        const nlohmann::json knowledge = nlohmann::json::parse(std::ifstream(root / "knowledge.json"));
        for (auto& [domain, entities] : knowledge.items())
            for (auto& [entity, e] : entities.items())
                for (auto& [faq_id, faq] : e["faqs"].items())
                    out.kb.add(aitl::document{domain + ":" + entity + ":faq:" + faq_id, e.value("name", std::string()),
                                              faq["question"].get<std::string>() + " " + faq["answer"].get<std::string>()});
        const nlohmann::json logs = nlohmann::json::parse(std::ifstream(root / "val" / "logs.json"));
        const nlohmann::json labels = nlohmann::json::parse(std::ifstream(root / "val" / "labels.json"));
        for (std::size_t i = 0; i < logs.size() && out.questions.size() < 400; ++i) {
            if (!labels[i]["target"].get<bool>()) continue;
            std::vector<std::string> rel;
            for (const auto& k : labels[i]["knowledge"])
                if (k["doc_type"] == "faq")
                    rel.push_back(k["domain"].get<std::string>() + ":" + std::to_string(k["entity_id"].get<int>()) +
                                  ":faq:" + std::to_string(k["doc_id"].get<int>()));
            if (rel.empty()) continue;
            std::string q;  // the last three turns: the entity is usually named before the question
            const auto& turns = logs[i];
            for (std::size_t t = turns.size() > 3 ? turns.size() - 3 : 0; t < turns.size(); ++t)
                q += (q.empty() ? "" : " ") + turns[t]["text"].get<std::string>();
            out.questions.push_back(std::move(q));
            out.relevant.push_back(std::move(rel));
        }
        return out;
    }();
    return data;
}

std::shared_ptr<aitl::bm25> shared_bm25() {
    static const std::shared_ptr<aitl::bm25> index = [] {
        auto b = std::make_shared<aitl::bm25>();
        b->add(dstc11().kb);
        return b;
    }();
    return index;
}

aitl::support_case case_of(std::size_t i, std::int64_t ts = 1700000000000) {
    return aitl::support_case{"case-" + std::to_string(i), dstc11().questions[i % dstc11().questions.size()], {}, 0,
                              ts == 0 ? 0 : ts + static_cast<std::int64_t>(i) * 1000, ""};
}

aitl::pipeline_config config_with_models(std::uint64_t seed = 0) {
    aitl::pipeline_config cfg;
    cfg.seed = seed;
    cfg.models = {{"retriever", "bm25@1"}, {"reranker", "identity@0"}, {"generator", "test@1"}};
    return cfg;
}

aitl::annotation annotation_of(const aitl::impression& imp, aitl::annotation_body body) {
    aitl::annotation a;
    a.impression_id = imp.id;
    a.annotator = "agent-07";
    a.timestamp_ms = imp.timestamp_ms + 5000;
    a.time_to_annotate_ms = 5000;
    a.body = std::move(body);
    return a;
}

// A feature ranker (linear, quick) trained on the first `n` questions' relevant FAQs.
aitl::feature_ranker trained_ranker(std::size_t n) {
    const auto& data = dstc11();
    aitl::feature_ranker_config cfg;
    cfg.model = aitl::ranker_kind::linear;
    cfg.epochs = 10;
    aitl::feature_ranker ranker(data.kb, cfg);
    std::vector<aitl::ranking_list> lists;
    for (std::size_t i = 0; i < n; ++i) {
        aitl::ranking_list l;
        l.query = data.questions[i];
        l.candidates = shared_bm25()->search(l.query, 75);
        for (const auto& id : data.relevant[i]) l.labels.emplace_back(id, 1.0);
        lists.push_back(std::move(l));
    }
    ranker.fit(lists);
    return ranker;
}

}  // namespace

TEST_CASE("A pipeline of BM25, the identity reranker, a generator and the SQLite store logs what it served",
          "[pipeline]") {
    temp_dir tmp;
    bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                    aitl::sqlite_store(tmp.db()), config_with_models());
    const aitl::impression imp = p.suggest(case_of(3));

    CHECK(imp.id.rfind("imp-", 0) == 0);
    CHECK(imp.id.size() == 20);
    CHECK(imp.case_id == "case-3");
    CHECK(imp.query == dstc11().questions[3]);
    CHECK(imp.timestamp_ms == 1700000003000);
    REQUIRE(imp.retrieved.size() == 75);
    REQUIRE(imp.shown.size() == 8);
    const aitl::hits top = shared_bm25()->search(imp.query, 75);
    for (std::size_t i = 0; i < 75; ++i) {
        CHECK(imp.retrieved[i].doc_id == top[i].id);
        CHECK(imp.retrieved[i].rank == i + 1);
        CHECK(imp.retrieved[i].score == Approx(top[i].score));
    }
    for (std::size_t i = 0; i < 8; ++i) CHECK(imp.shown[i] == imp.retrieved[i]);  // identity reranker
    REQUIRE(imp.replies.size() == 2);
    CHECK(imp.replies[0].variant == "top");
    CHECK(imp.replies[1].variant == "coverage");
    CHECK(imp.replies[0].position != imp.replies[1].position);
    CHECK(imp.replies[0].text.find("[" + imp.shown[0].doc_id + "]") != std::string::npos);
    CHECK(imp.replies[1].text.find("[" + imp.shown[2].doc_id + "]") != std::string::npos);
    CHECK(imp.models == config_with_models().models);

    // Stored exactly as returned (the store adds its seq).
    aitl::impression stored = p.store().get_impression(imp.id);
    CHECK(stored.seq == 1);
    stored.seq = 0;
    CHECK(stored == imp);
    CHECK(p.store().stats().impressions == 1);

    // timestamp_ms 0 = now; the context is logged.
    aitl::support_case c = case_of(4, 0);
    c.context = {"Hello, I have a question.", "Sure, go ahead."};
    c.turn = 2;
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const aitl::impression now = p.suggest(c);
    CHECK(now.timestamp_ms >= before);
    CHECK(now.context == c.context);
    CHECK(now.turn == 2);
    CHECK(p.store().get_impression(now.id).context == c.context);

    // Invalid cases are refused before anything is stored.
    CHECK_THROWS_AS(p.suggest(aitl::support_case{"", "refund?"}), aitl::config_error);
    CHECK_THROWS_AS(p.suggest(aitl::support_case{"case-x", ""}), aitl::config_error);
    CHECK_THROWS_AS(p.suggest(aitl::support_case{"case-x", "refund?", {}, 0, -5}), aitl::config_error);
    // A caller-chosen id that is already stored: config_error from the store, nothing stored.
    aitl::support_case dup = case_of(5);
    dup.impression_id = imp.id;
    CHECK_THROWS_AS(p.suggest(dup), aitl::config_error);
    CHECK(p.store().stats().impressions == 2);
}

TEST_CASE("The default pipeline (BM25, feature ranker, extractive generator, SQLite) serves grounded replies",
          "[pipeline]") {
    temp_dir tmp;
    const auto& data = dstc11();
    aitl::bm25 bm25;
    bm25.add(data.kb);
    aitl::pipeline p(data.kb, std::move(bm25), aitl::feature_ranker(data.kb), aitl::extractive_generator(),
                     aitl::sqlite_store(tmp.db()), config_with_models());
    std::size_t different = 0, served = 0;
    for (std::size_t i = 0; i < 30; ++i) {
        aitl::support_case c = case_of(i);
        c.context = {"Hi, I am planning a trip."};
        const aitl::impression imp = p.suggest(c);
        REQUIRE(imp.replies.size() == 2);  // the extractive generator always replies (a fallback without references)
        CHECK(imp.replies[0].variant == "top");
        CHECK(imp.replies[1].variant == "coverage");
        CHECK(imp.replies[0].position != imp.replies[1].position);
        if (imp.shown.empty()) continue;
        ++served;
        CHECK(imp.shown.size() == std::min<std::size_t>(8, imp.retrieved.size()));
        different += imp.replies[0].text != imp.replies[1].text;
        for (const auto& r : imp.replies) {
            // Every [marker] names a shown document.
            std::size_t cited = 0;
            for (std::size_t at = r.text.find('['); at != std::string::npos; at = r.text.find('[', at + 1)) {
                const std::size_t end = r.text.find(']', at);
                REQUIRE(end != std::string::npos);
                CHECK(imp.find_shown(r.text.substr(at + 1, end - at - 1)) != nullptr);
                ++cited;
            }
            CHECK(cited >= 1);
        }
    }
    CHECK(served >= 28);
    CHECK(different >= served / 2);
    WARN("extractive replies: " << different << " of " << served << " served cases got two different replies");
    CHECK(p.store().stats().impressions == 30);
}

TEST_CASE("Screen positions are randomised, balanced and reproducible per seed", "[pipeline]") {
    temp_dir tmp;
    std::vector<aitl::support_case> cases;
    for (std::size_t i = 0; i < 200; ++i) cases.push_back(case_of(i));
    auto serve = [&](std::uint64_t seed, const std::string& db) {
        bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                        aitl::sqlite_store(tmp.db(db)), config_with_models(seed));
        return p.suggest_many(cases, 2);
    };
    const auto a = serve(7, "a.db");
    const auto b = serve(7, "b.db");
    const auto c = serve(8, "c.db");
    std::size_t a_left = 0, differ = 0, nothing_found = 0;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ids.insert(a[i].id);
        if (a[i].shown.empty()) {  // e.g. "Is the web connection decent here?": no BM25 match, no reply
            CHECK(a[i].replies.empty());
            ++nothing_found;
            continue;
        }
        REQUIRE(a[i].replies.size() == 2);
        CHECK(a[i].replies[0].position != a[i].replies[1].position);
        a_left += a[i].replies[0].position == aitl::screen_position::left;
        CHECK(a[i].id == b[i].id);
        CHECK(a[i].replies == b[i].replies);
        differ += a[i].replies[0].position != c[i].replies[0].position;
    }
    CHECK(ids.size() == 200);
    CHECK(nothing_found < 10);
    WARN("reply A on the left in " << a_left << " of " << 200 - nothing_found << " cases (seed 7); other side with seed 8: "
                                   << differ);
    // Both orders occur, about half each (binomial(200, 0.5): 100 +- 7 is one sd).
    CHECK(a_left > 70);
    CHECK(a_left < 130);
    CHECK(differ > 70);  // another seed draws other sides
    CHECK(differ < 130);

    // randomise_positions = false: reply A always left.
    aitl::pipeline_config fixed = config_with_models(7);
    fixed.randomise_positions = false;
    bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                    aitl::sqlite_store(tmp.db("d.db")), fixed);
    for (const auto& imp : p.suggest_many({cases.begin(), cases.begin() + 20})) {
        if (imp.replies.empty()) continue;
        CHECK(imp.replies[0].position == aitl::screen_position::left);
        CHECK(imp.replies[1].position == aitl::screen_position::right);
    }
}

TEST_CASE("record() stores valid annotations and refuses invalid ones, leaving the store unchanged",
          "[pipeline]") {
    temp_dir tmp;
    bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                    aitl::sqlite_store(tmp.db()), config_with_models());
    const aitl::impression imp = p.suggest(case_of(0));
    const std::string shown0 = imp.shown[0].doc_id, shown1 = imp.shown[1].doc_id;
    const std::string unshown = imp.retrieved[40].doc_id;

    const std::string id = p.record(annotation_of(
        imp, aitl::preference{aitl::preference_choice::b, aitl::preference_strength::clear, "cites the policy"}));
    CHECK(id.rfind("ann-", 0) == 0);
    const auto ids = p.record(std::vector<aitl::annotation>{
        annotation_of(imp, aitl::adoption{aitl::adoption_outcome::used_with_edits, 1, "Edited.", {aitl::adoption_reason::tone}, ""}),
        annotation_of(imp, aitl::knowledge_relevance{{{shown0, true}, {shown1, false}}, {unshown}}),
        annotation_of(imp, aitl::missing_knowledge{"no FAQ on late check-out fees", ""})});
    CHECK(ids.size() == 3);
    const auto stats = p.store().stats();
    CHECK(stats.annotations() == 4);
    CHECK(stats.knowledge_relevance == 1);
    CHECK(p.store().get_annotation(id).impression_id == imp.id);

    // Unknown impression: not_found. A label of a reference that was not shown, a hand-selected
    // reference that was shown, an adoption of slot 2: config_error naming the field.
    aitl::annotation unknown = annotation_of(imp, aitl::missing_knowledge{"x", ""});
    unknown.impression_id = "imp-does-not-exist";
    CHECK_THROWS_AS(p.record(unknown), aitl::not_found);
    try {
        p.record(annotation_of(imp, aitl::knowledge_relevance{{{unshown, true}}, {}}));
        FAIL("a label of a reference that was not shown was accepted");
    } catch (const aitl::config_error& e) {
        CHECK(std::string(e.what()).find("labels[0].doc_id") != std::string::npos);
    }
    CHECK_THROWS_AS(p.record(annotation_of(imp, aitl::knowledge_relevance{{}, {shown0}})), aitl::config_error);
    CHECK_THROWS_AS(p.record(annotation_of(imp, aitl::adoption{aitl::adoption_outcome::used_as_is, 2, "", {}, ""})),
                    aitl::config_error);
    aitl::annotation no_annotator = annotation_of(imp, aitl::missing_knowledge{"x", ""});
    no_annotator.annotator.clear();
    CHECK_THROWS_AS(p.record(no_annotator), aitl::config_error);
    // A batch with one bad annotation stores none of it.
    CHECK_THROWS_AS(p.record(std::vector<aitl::annotation>{annotation_of(imp, aitl::missing_knowledge{"ok", ""}),
                                                           annotation_of(imp, aitl::knowledge_relevance{{{unshown, true}}, {}})}),
                    aitl::config_error);
    CHECK(p.store().stats() == stats);
}

TEST_CASE("A pipeline with a learned feature ranker shows the ranker's top n", "[pipeline]") {
    temp_dir tmp;
    const auto& data = dstc11();
    auto ranker = std::make_shared<aitl::feature_ranker>(trained_ranker(200));
    REQUIRE(ranker->fitted());
    aitl::pipeline_config cfg = config_with_models();
    cfg.models["reranker"] = "linear@1";
    ranked_pipeline p(data.kb, shared_bm25(), ranker, test_generator{}, aitl::sqlite_store(tmp.db()), cfg);
    // Held-out questions 200..299: the shown lists are the ranker's, and they hold more relevant FAQs.
    std::vector<aitl::support_case> cases;
    for (std::size_t i = 200; i < 300; ++i) cases.push_back(case_of(i));
    const auto imps = p.suggest_many(cases);
    std::size_t reordered = 0, hits_ranker = 0, hits_bm25 = 0;
    for (std::size_t j = 0; j < imps.size(); ++j) {
        const auto& imp = imps[j];
        const auto expected = ranker->rerank(imp.query, shared_bm25()->search(imp.query, 75), 8);
        REQUIRE(imp.shown.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(imp.shown[i].doc_id == expected[i].id);
            CHECK(imp.shown[i].score == Approx(expected[i].score));
        }
        CHECK(imp.models.at("reranker") == "linear@1");
        bool same = true;
        for (std::size_t i = 0; i < imp.shown.size(); ++i) same = same && imp.shown[i].doc_id == imp.retrieved[i].doc_id;
        reordered += !same;
        const std::set<std::string> rel(data.relevant[200 + j].begin(), data.relevant[200 + j].end());
        for (std::size_t i = 0; i < imp.shown.size(); ++i) {
            hits_ranker += rel.count(imp.shown[i].doc_id);
            hits_bm25 += rel.count(imp.retrieved[i].doc_id);
        }
    }
    CHECK(reordered > 50);
    CHECK(hits_ranker > hits_bm25);
    WARN("relevant FAQs in the top 8 of 100 held-out questions: ranker " << hits_ranker << ", bm25 " << hits_bm25);
    CHECK(p.store().stats().impressions == 100);
}

TEST_CASE("Provenance: impressions name the versions that served them; compile selects feedback by version",
          "[pipeline][provenance]") {
    temp_dir tmp;
    const auto& data = dstc11();
    // the champion as C++ objects the pipeline owns: BM25 reranked over its top 100
    using served = aitl::any_retriever;
    auto v1 = std::make_shared<aitl::reranked<aitl::bm25, aitl::feature_ranker>>(
        shared_bm25(), std::make_shared<aitl::feature_ranker>(trained_ranker(100)), 100);
    auto v2 = std::make_shared<aitl::reranked<aitl::bm25, aitl::feature_ranker>>(
        shared_bm25(), std::make_shared<aitl::feature_ranker>(trained_ranker(200)), 100);
    aitl::basic_pipeline<served, aitl::identity_reranker, test_generator, aitl::sqlite_store> p(
        data.kb, served(shared_bm25()), aitl::identity_reranker{}, test_generator{}, aitl::sqlite_store(tmp.db()),
        config_with_models());
    auto serve_and_label = [&](std::size_t from) {
        std::vector<aitl::support_case> cases;
        for (std::size_t i = from; i < from + 10; ++i) cases.push_back(case_of(i));
        const auto imps = p.suggest_many(cases);
        for (const auto& imp : imps) {
            aitl::knowledge_relevance kr;
            kr.labels.push_back(aitl::relevance_label{imp.shown[0].doc_id, true});
            p.record(annotation_of(imp, kr));
        }
        return imps;
    };
    const auto base = serve_and_label(300);
    p.set_retriever(served(v1), "bm25+ranker@v000001");  // promotion
    const auto first = serve_and_label(310);
    p.set_retriever(served(v2), "bm25+ranker@v000002");  // promotion
    const auto second = serve_and_label(320);
    p.set_retriever(served(v1), "bm25+ranker@v000001");  // rollback
    const auto back = serve_and_label(330);
    for (const auto& imp : base) CHECK(imp.models.at("retriever") == "bm25@1");
    for (const auto& imp : first) CHECK(imp.models.at("retriever") == "bm25+ranker@v000001");
    for (const auto& imp : second) CHECK(imp.models.at("retriever") == "bm25+ranker@v000002");
    for (const auto& imp : back) {
        CHECK(imp.models.at("retriever") == "bm25+ranker@v000001");
        CHECK(imp.models.at("reranker") == "identity@0");
        // what was served is the composed champion's ranking
        const auto want = v1->search(imp.query, 75);
        REQUIRE(imp.retrieved.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(imp.retrieved[i].doc_id == want[i].id);
    }
    // stored and read back with the same names
    for (const auto& imp : p.store().impressions(aitl::store_filter{}))
        CHECK(imp.models.at("retriever").rfind("bm25", 0) == 0);
    aitl::compile_options o;
    o.models = {{"retriever", "bm25+ranker@v000001"}};
    const auto lists = aitl::compile_rerank(p.store(), o);
    std::set<std::string> got;
    for (const auto& l : lists) got.insert(l.impression_id);
    std::set<std::string> want;
    for (const auto* batch : {&first, &back})
        for (const auto& imp : *batch) want.insert(imp.id);
    CHECK(got == want);
    o.models = {{"retriever", "bm25+ranker@v000002"}, {"generator", "test@1"}};
    CHECK(aitl::compile_rerank(p.store(), o).size() == second.size());
    o.models = {{"retriever", "bm25+ranker@v000002"}, {"generator", "other@1"}};
    CHECK(aitl::compile_rerank(p.store(), o).empty());
    o.models = {{"retriever", ""}};
    CHECK_THROWS_AS(aitl::compile_rerank(p.store(), o), aitl::config_error);
    const nlohmann::json j = aitl::compile_options{{}, {}, {1.0, 2.0, 3.0}, false, true, 0.0, {{"retriever", "x@1"}}};
    CHECK(j.at("models").at("retriever") == "x@1");
    CHECK(j.get<aitl::compile_options>().models == std::map<std::string, std::string>{{"retriever", "x@1"}});
}

TEST_CASE("suggest_many logs a batch in one transaction; a failing case stores nothing", "[pipeline]") {
    temp_dir tmp;
    bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                    aitl::sqlite_store(tmp.db()), config_with_models());
    std::vector<aitl::support_case> cases{case_of(1), case_of(2), case_of(3)};
    const auto imps = p.suggest_many(cases, 0);
    REQUIRE(imps.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(imps[i].case_id == cases[i].case_id);
        CHECK(p.store().get_impression(imps[i].id).seq == static_cast<std::int64_t>(i + 1));
    }
    cases.push_back(aitl::support_case{"case-bad", ""});
    CHECK_THROWS_AS(p.suggest_many(cases), aitl::config_error);
    CHECK(p.store().stats().impressions == 3);
    CHECK(p.suggest_many({}).empty());
    // draft() serves without logging.
    const auto d = p.draft(case_of(9));
    CHECK(d.shown.size() == 8);
    CHECK(p.store().stats().impressions == 3);
}

TEST_CASE("Two threads suggest while the reranker and its model version are swapped", "[pipeline]") {
    temp_dir tmp;
    const auto& data = dstc11();
    auto untrained = std::make_shared<aitl::feature_ranker>(data.kb);  // first-stage order
    auto trained = std::make_shared<aitl::feature_ranker>(trained_ranker(150));
    aitl::pipeline_config cfg = config_with_models();
    cfg.models["reranker"] = "untrained@0";
    ranked_pipeline p(data.kb, shared_bm25(), untrained, test_generator{}, aitl::sqlite_store(tmp.db()), cfg);

    std::atomic<bool> done{false};
    std::vector<std::vector<aitl::impression>> served(2);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t i = 0; i < 60; ++i) served[t].push_back(p.suggest(case_of(t * 1000 + i)));
        });
    std::size_t swaps = 0;
    std::thread swapper([&] {
        for (; !done.load(); ++swaps) {
            if (swaps % 2 == 0) p.set_reranker(trained, "linear@1");
            else p.set_reranker(untrained, "untrained@0");
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    for (auto& t : threads) t.join();
    done = true;
    swapper.join();
    CHECK(swaps > 0);

    // Each impression was served by the reranker its models name (the swap is atomic).
    std::size_t by_trained = 0;
    for (const auto& list : served)
        for (const auto& imp : list) {
            const std::string version = imp.models.at("reranker");
            const auto& r = version == "linear@1" ? *trained : *untrained;
            by_trained += version == "linear@1";
            const auto expected = r.rerank(imp.query, shared_bm25()->search(imp.query, 75), 8);
            REQUIRE(imp.shown.size() == expected.size());
            for (std::size_t i = 0; i < expected.size(); ++i) CHECK(imp.shown[i].doc_id == expected[i].id);
        }
    CHECK(p.store().stats().impressions == 120);
    WARN("impressions served by the trained reranker: " << by_trained << " of 120, swaps: " << swaps);
}

TEST_CASE("Pipeline settings are validated, round-trip through JSON and can be changed while serving",
          "[pipeline]") {
    aitl::pipeline_config d;
    CHECK(d.k == 75);
    CHECK(d.n == 8);
    CHECK(d.champion_variant == "top");
    CHECK(d.challenger_variant == "coverage");
    CHECK(d.randomise_positions);
    CHECK_NOTHROW(aitl::validate(d));
    aitl::pipeline_config c = config_with_models(42);
    c.k = 50;
    c.n = 5;
    c.randomise_positions = false;
    const nlohmann::json j = c;
    CHECK(j.get<aitl::pipeline_config>() == c);
    CHECK(nlohmann::json::parse(j.dump()).get<aitl::pipeline_config>() == c);
    CHECK_THROWS_AS(nlohmann::json({{"kk", 1}}).get<aitl::pipeline_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"k", "many"}}).get<aitl::pipeline_config>(), aitl::config_error);

    auto invalid = [](auto change) {
        aitl::pipeline_config x;
        change(x);
        CHECK_THROWS_AS(aitl::validate(x), aitl::config_error);
    };
    invalid([](aitl::pipeline_config& x) { x.k = 0; });
    invalid([](aitl::pipeline_config& x) { x.n = 0; });
    invalid([](aitl::pipeline_config& x) { x.n = 76; });
    invalid([](aitl::pipeline_config& x) { x.champion_variant = ""; });
    invalid([](aitl::pipeline_config& x) { x.challenger_variant = "top"; });
    invalid([](aitl::pipeline_config& x) { x.models[""] = "v1"; });
    invalid([](aitl::pipeline_config& x) { x.models["retriever"] = ""; });
    try {
        aitl::pipeline_config x;
        x.n = 80;
        aitl::validate(x);
    } catch (const aitl::config_error& e) {
        CHECK(std::string(e.what()) == "pipeline_config::validate: n out of range (got 80, expected 1..75 (k))");
    }

    aitl::support_case sc{"case-1", "refund?", {"hi"}, 3, 1700000000000, ""};
    CHECK(nlohmann::json(sc).get<aitl::support_case>().context == sc.context);
    CHECK(nlohmann::json({{"case_id", "c"}, {"query", "q"}}).get<aitl::support_case>().turn == 0);
    CHECK_THROWS_AS(nlohmann::json({{"case_id", "c"}}).get<aitl::support_case>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"case_id", "c"}, {"query", "q"}, {"foo", 1}}).get<aitl::support_case>(),
                    aitl::config_error);

    temp_dir tmp;
    aitl::pipeline_config unknown = config_with_models();
    unknown.challenger_variant = "llm";
    CHECK_THROWS_AS(bm25_pipeline(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                                  aitl::sqlite_store(tmp.db("x.db")), unknown),
                    aitl::config_error);
    CHECK_THROWS_AS(bm25_pipeline(dstc11().kb, std::shared_ptr<aitl::bm25>(), aitl::identity_reranker{},
                                  test_generator{}, aitl::sqlite_store(tmp.db("y.db"))),
                    aitl::config_error);

    bm25_pipeline p(dstc11().kb, shared_bm25(), aitl::identity_reranker{}, test_generator{},
                    aitl::sqlite_store(tmp.db()), config_with_models());
    p.set_variants("coverage", "top");  // the challenger was promoted
    p.set_model("generator", "test@2");
    const auto imp = p.suggest(case_of(1));
    CHECK(imp.replies[0].variant == "coverage");
    CHECK(imp.models.at("generator") == "test@2");
    CHECK_THROWS_AS(p.set_variants("top", "top"), aitl::config_error);
    CHECK_THROWS_AS(p.set_variants("top", "llm"), aitl::config_error);
    CHECK_THROWS_AS(p.set_model("", "v"), aitl::config_error);
    p.set_models({{"retriever", "bm25@2"}});
    CHECK(p.config().models == std::map<std::string, std::string>{{"retriever", "bm25@2"}});
    CHECK(p.config().champion_variant == "coverage");
    CHECK(p.retriever() == shared_bm25());
}

TEST_CASE("A pipeline assembles from the reference models of the slots", "[pipeline]") {
    // retriever_model finds nothing: nothing shown, the generator gets no references and its
    // empty replies are left out; store_model keeps nothing, so record() finds no impression.
    aitl::knowledge_base kb;
    aitl::basic_pipeline<aitl::retriever_model, aitl::reranker_model, test_generator, aitl::store_model> p(
        kb, aitl::retriever_model{}, aitl::reranker_model{}, test_generator{}, aitl::store_model{});
    const auto imp = p.suggest(aitl::support_case{"case-1", "refund?", {}, 0, 1700000000000, ""});
    CHECK(imp.retrieved.empty());
    CHECK(imp.shown.empty());
    CHECK(imp.replies.empty());
    aitl::annotation a = annotation_of(imp, aitl::missing_knowledge{"no refund policy", ""});
    CHECK_THROWS_AS(p.record(a), aitl::not_found);
}
