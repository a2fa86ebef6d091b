// Tests of feedback/ (impressions, annotations: JSON and validation) and store/ (the SQLite
// store: appends, validation at the boundary, queries, JSONL export/import, migrations, crash
// safety under SIGKILL, concurrent writers and readers).
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/feedback/annotation.hpp>
#include <aitl/feedback/impression.hpp>
#include <aitl/store/sqlite_schema.hpp>
#include <aitl/store/sqlite_store.hpp>
#include <aitl/store/store_types.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

// Explicit instantiations: every member of both thread policies compiles.
template class aitl::basic_sqlite_store<std::mutex>;
template class aitl::basic_sqlite_store<aitl::detail::null_mutex>;

static_assert(aitl::is_store_v<aitl::sqlite_store>, "sqlite_store meets the Store contract");
static_assert(aitl::is_store_v<aitl::sqlite_store_st>, "sqlite_store_st meets the Store contract");
static_assert(aitl::is_store_v<aitl::store_model>, "store_model meets the Store contract");
static_assert(std::is_move_constructible_v<aitl::sqlite_store> && !std::is_copy_constructible_v<aitl::sqlite_store>,
              "sqlite_store is movable, not copyable");

namespace {

// A fresh folder per test case, removed at the end.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("aitl_test_store_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::string read(const std::string& name) const {
        std::ifstream in(path / name, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return file(name);
    }
};

aitl::impression make_impression(const std::string& id, const std::string& case_id, std::int64_t ts,
                                 std::size_t n_shown = 4, std::size_t n_replies = 2,
                                 std::map<std::string, std::string> models = {{"retriever", "bm25@1"}}) {
    aitl::impression imp;
    imp.id = id;
    imp.case_id = case_id;
    imp.turn = 1;
    imp.timestamp_ms = ts;
    imp.query = "How do I get a refund for \"booking\" #" + id + "?";
    imp.context = {"customer: hi", "agent: hello, how can I help?\nline two \xc3\xa9"};
    for (std::size_t r = 0; r < n_shown + 3; ++r)
        imp.retrieved.push_back({"d" + std::to_string(r), static_cast<std::uint32_t>(r + 1), 20.0 / (r + 3) + 0.1});
    for (std::size_t r = 0; r < n_shown; ++r)
        imp.shown.push_back({"d" + std::to_string(n_shown - 1 - r), static_cast<std::uint32_t>(r + 1),
                             1.0 / 3.0 - static_cast<double>(r) * 1e-17 - static_cast<double>(r) * 0.1});
    const char* variants[] = {"champion", "top3"};
    for (std::size_t r = 0; r < n_replies; ++r)
        imp.replies.push_back({variants[r], "Reply " + std::to_string(r) + " [d0]",
                               r == 0 ? aitl::screen_position::right : aitl::screen_position::left});
    imp.models = std::move(models);
    return imp;
}

aitl::annotation make_annotation(const std::string& imp_id, aitl::annotation_body body, const std::string& annotator = "agent-07",
                                 std::int64_t ts = 1700000005000) {
    aitl::annotation a;
    a.impression_id = imp_id;
    a.annotator = annotator;
    a.timestamp_ms = ts;
    a.time_to_annotate_ms = 4200;
    a.weight = 0.75;
    a.body = std::move(body);
    return a;
}

aitl::preference a_preference() { return {aitl::preference_choice::b, aitl::preference_strength::clear, "cites the policy"}; }
aitl::adoption an_adoption() {
    return {aitl::adoption_outcome::used_with_edits, 1, "Edited: refunds take 5 days.\n\"quoted\"",
            {aitl::adoption_reason::missing_information, aitl::adoption_reason::tone}, "too terse"};
}
aitl::knowledge_relevance a_relevance() { return {{{"d0", true}, {"d2", false}, {"d1", true}}, {"d77", "d78"}}; }
aitl::missing_knowledge a_missing() { return {"No article covers partial refunds", "policy wiki"}; }

std::vector<std::string> ids_of(const std::vector<aitl::annotation>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.id);
    return out;
}
std::vector<std::string> ids_of(const std::vector<aitl::impression>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.id);
    return out;
}

// Consistency of a store file checked with plain SQL.
struct file_check {
    std::string integrity;
    std::int64_t bad_label_counts = -1;
    std::int64_t bad_impression_counts = -1;
};
file_check check_file(const std::string& path) {
    aitl::detail::sqlite_db db(path, SQLITE_OPEN_READONLY, "test");
    file_check out;
    {
        auto st = db.prepare("PRAGMA integrity_check");
        if (st.step()) out.integrity = st.str(0);
    }
    out.bad_label_counts = db.scalar(
        "SELECT count(*) FROM annotations a WHERE a.n_labels != "
        "(SELECT count(*) FROM relevance_labels r WHERE r.annotation_seq = a.seq)");
    out.bad_impression_counts = db.scalar(
        "SELECT count(*) FROM impressions i WHERE "
        "i.n_retrieved != (SELECT count(*) FROM impression_candidates c WHERE c.impression_seq = i.seq AND c.stage = 0) OR "
        "i.n_shown != (SELECT count(*) FROM impression_candidates c WHERE c.impression_seq = i.seq AND c.stage = 1) OR "
        "i.n_replies != (SELECT count(*) FROM impression_replies r WHERE r.impression_seq = i.seq)");
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Feedback types
// ---------------------------------------------------------------------------------------------

TEST_CASE("an impression round-trips through its JSON form exactly", "[feedback]") {
    auto imp = make_impression("imp-1", "case-1", 1700000000000);
    imp.seq = 7;
    imp.retrieved[0].score = 0.1 + 0.2;  // not representable in short decimal
    imp.retrieved[1].score = 1e-300;
    imp.retrieved[2].score = -123456.789012345678;
    json j = imp;
    CHECK(j.at("type") == "impression");
    CHECK(j.at("replies").at(0).at("position") == "right");
    auto back = json::parse(j.dump()).get<aitl::impression>();
    CHECK(back == imp);
    CHECK(back.retrieved[0].score == 0.1 + 0.2);

    // Optional keys take their defaults.
    auto minimal = json::parse(R"({"case_id":"c","timestamp_ms":5,"query":"q"})").get<aitl::impression>();
    CHECK(minimal.seq == 0);
    CHECK(minimal.id.empty());
    CHECK(minimal.replies.empty());
    CHECK_NOTHROW(aitl::validate(minimal));
}

TEST_CASE("each annotation type round-trips through its JSON form exactly", "[feedback]") {
    std::vector<aitl::annotation_body> bodies{a_preference(), an_adoption(), a_relevance(), a_missing()};
    const char* types[] = {"preference", "adoption", "knowledge_relevance", "missing_knowledge"};
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        auto a = make_annotation("imp-1", bodies[i]);
        a.seq = 3;
        a.id = "ann-" + std::to_string(i);
        a.weight = 2.0 / 3.0;
        json j = a;
        CHECK(j.at("type") == types[i]);
        CHECK(static_cast<std::size_t>(a.kind()) == i);
        auto back = json::parse(j.dump()).get<aitl::annotation>();
        CHECK(back == a);
    }
    json j = make_annotation("imp-1", an_adoption());
    CHECK(j.at("reasons") == json::array({"missing_information", "tone"}));
    CHECK(j.at("outcome") == "used_with_edits");
}

TEST_CASE("annotation and impression JSON readers reject bad enums, wrong types and unknown keys naming the field",
          "[feedback]") {
    auto ann = [](const char* text) { return json::parse(text).get<aitl::annotation>(); };
    auto imp = [](const char* text) { return json::parse(text).get<aitl::impression>(); };
    const std::string common = R"("impression_id":"imp-1","annotator":"a","timestamp_ms":1)";
    auto pref = [&](const std::string& extra) { return ann(("{\"type\":\"preference\"," + common + extra + "}").c_str()); };
    CHECK_NOTHROW(pref(R"(,"choice":"a")"));
    CHECK_THROWS_NAMING(aitl::config_error, pref(R"(,"choice":"c")"), "'choice'");
    CHECK_THROWS_NAMING(aitl::config_error, pref(R"(,"choice":"a","strength":"huge")"), "'strength'");
    CHECK_THROWS_NAMING(aitl::config_error, pref(R"(,"choice":1)"), "'choice'");
    CHECK_THROWS_NAMING(aitl::config_error, pref(R"(,"choice":"a","weight":"heavy")"), "'weight'");
    CHECK_THROWS_NAMING(aitl::config_error, pref(R"(,"choice":"a","colour":"red")"), "'colour'");
    CHECK_THROWS_NAMING(aitl::config_error, pref(""), "'choice'");  // missing required key
    CHECK_THROWS_NAMING(aitl::config_error, ann(R"({"type":"praise"})"), "'type'");
    CHECK_THROWS_NAMING(aitl::config_error, ann("[1]"), "(record)");
    CHECK_THROWS_NAMING(aitl::config_error,
                        ann(("{\"type\":\"adoption\"," + common + R"(,"outcome":"used_as_is","reasons":["tone","rude"]})").c_str()),
                        "'reasons[1]'");
    CHECK_THROWS_NAMING(aitl::config_error,
                        ann(("{\"type\":\"knowledge_relevance\"," + common + R"(,"labels":[{"doc_id":"d1","relevant":"yes"}]})").c_str()),
                        "'labels[0].relevant'");
    CHECK_THROWS_NAMING(aitl::config_error,
                        ann(("{\"type\":\"missing_knowledge\"," + common + R"(,"description":"x","timestamp_ms":-1.5})").c_str()),
                        "timestamp_ms");
    CHECK_THROWS_NAMING(aitl::config_error, imp(R"({"case_id":"c","timestamp_ms":5,"query":"q","retrieved":[{"doc_id":"d","rank":"1","score":1}]})"),
                        "'retrieved[0].rank'");
    CHECK_THROWS_NAMING(aitl::config_error, imp(R"({"case_id":"c","timestamp_ms":5})"), "'query'");
    CHECK_THROWS_NAMING(aitl::config_error, imp(R"({"case_id":"c","timestamp_ms":5,"query":"q","replies":[{"variant":"v","text":"t","position":"top"}]})"),
                        "'replies[0].position'");
    CHECK_THROWS_NAMING(aitl::config_error, imp(R"({"case_id":"c","timestamp_ms":5,"query":"q","models":{"retriever":3}})"),
                        "'models.retriever'");
    CHECK_THROWS_NAMING(aitl::config_error, imp(R"({"case_id":"c","timestamp_ms":5,"query":"q","shwon":[]})"), "'shwon'");
}

TEST_CASE("validate checks standalone fields of impressions and annotations naming the field", "[feedback]") {
    auto imp = make_impression("imp-1", "c", 1);
    CHECK_NOTHROW(aitl::validate(imp));
    auto bad = imp;
    bad.query.clear();
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(bad), "'query'");
    bad = imp;
    bad.shown[1].rank = 5;
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(bad), "'shown[1].rank'");
    bad = imp;
    bad.shown[0].doc_id = "elsewhere";
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(bad), "'shown[0].doc_id'");
    bad = imp;
    bad.replies[1].position = aitl::screen_position::right;
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(bad), "'replies[1].position'");
    bad = imp;
    bad.retrieved[2].score = std::nan("");
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(bad), "'retrieved[2].score'");

    auto a = make_annotation("imp-1", an_adoption());
    CHECK_NOTHROW(aitl::validate(a, imp));
    auto b = a;
    b.annotator.clear();
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'annotator'");
    b = a;
    b.weight = -1;
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'weight'");
    b = a;
    std::get<aitl::adoption>(b.body).final_text.clear();
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'final_text'");
    b = a;
    std::get<aitl::adoption>(b.body).reasons.push_back(aitl::adoption_reason::tone);
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'reasons[2]'");
    b = make_annotation("imp-1", aitl::knowledge_relevance{});
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'labels'");
    b = make_annotation("imp-1", aitl::missing_knowledge{});
    CHECK_THROWS_NAMING(aitl::config_error, aitl::validate(b), "'description'");
}

// ---------------------------------------------------------------------------------------------
// Store: validation at the boundary
// ---------------------------------------------------------------------------------------------

TEST_CASE("sqlite_store rejects invalid appends naming the field and stores nothing of them", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    const auto two = store.append(make_impression("", "case-1", 1000));  // 4 shown (d3 d2 d1 d0), 2 replies
    const auto one = store.append(make_impression("imp-one", "case-2", 2000, 4, 1));
    CHECK(two.rfind("imp-", 0) == 0);
    CHECK(two.size() == 20);
    CHECK(one == "imp-one");
    const auto good = store.append(make_annotation(two, a_relevance()));
    CHECK(good.rfind("ann-", 0) == 0);
    const aitl::store_stats before = store.stats();
    REQUIRE(before.impressions == 2);
    REQUIRE(before.annotations() == 1);

    CHECK_THROWS_NAMING(aitl::not_found, store.append(make_annotation("imp-nope", a_preference())), "'impression_id'");
    CHECK_THROWS_NAMING(aitl::not_found, store.append(make_annotation("imp-nope", a_preference())), "imp-nope");
    auto r = a_relevance();
    r.labels[1].doc_id = "d9";  // not shown
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation(two, r)), "'labels[1].doc_id'");
    r = a_relevance();
    r.selected[0] = "d3";  // shown, so it must be labelled instead
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation(two, r)), "'selected[0]'");
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation(one, a_preference())), "'choice'");
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation(one, an_adoption())), "'reply'");  // slot B not shown
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation(two, a_missing(), "")), "'annotator'");
    auto dup = make_annotation(two, a_missing());
    dup.id = good;
    CHECK_THROWS_NAMING(aitl::config_error, store.append(dup), "'id'");
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_impression("imp-one", "case-3", 5)), "'id'");
    auto bad_imp = make_impression("imp-bad", "case-3", 5);
    bad_imp.case_id.clear();
    CHECK_THROWS_NAMING(aitl::config_error, store.append(bad_imp), "'case_id'");

    // Batches are all or nothing.
    std::vector<aitl::annotation> batch{make_annotation(two, a_missing()), make_annotation(one, an_adoption())};
    CHECK_THROWS_NAMING(aitl::config_error, store.append(batch), "'reply'");
    batch[1] = make_annotation("imp-nope", a_missing());
    CHECK_THROWS_AS(store.append(batch), aitl::not_found);
    std::vector<aitl::impression> imps{make_impression("imp-a", "c", 1), make_impression("imp-a", "c", 2)};
    CHECK_THROWS_NAMING(aitl::config_error, store.append(imps), "'id'");
    imps[1] = make_impression("imp-one", "c", 2);
    CHECK_THROWS_NAMING(aitl::config_error, store.append(imps), "'id'");

    CHECK(store.stats() == before);
    CHECK(!store.contains_impression("imp-a"));
    CHECK(aitl::detail::sqlite_db(dir.file("s.db"), SQLITE_OPEN_READONLY, "test")
              .scalar("SELECT count(*) FROM relevance_labels") == 5);

    // After the failures the store accepts valid records, with the next seq.
    const auto next = store.append(make_annotation(one, a_missing()));
    CHECK(store.get_annotation(next).seq == 2);
    CHECK(store.watermark() == 2);
}

TEST_CASE("sqlite_store_config validates and round-trips through strict JSON", "[store]") {
    aitl::sqlite_store_config c;
    CHECK(c.durability_mode == aitl::durability::full);
    CHECK(c.busy_timeout_ms == 10000);
    CHECK(c.group_commit_max == 512);
    CHECK(!c.read_only);
    c.durability_mode = aitl::durability::normal;
    c.busy_timeout_ms = 250;
    c.group_commit_max = 8;
    c.read_only = true;
    json j = c;
    CHECK(j.dump() == R"({"busy_timeout_ms":250,"durability":"normal","group_commit_max":8,"read_only":true})");
    CHECK(j.get<aitl::sqlite_store_config>() == c);
    CHECK(json::object().get<aitl::sqlite_store_config>() == aitl::sqlite_store_config{});
    CHECK_THROWS_NAMING(aitl::config_error, json::parse(R"({"durability":"sometimes"})").get<aitl::sqlite_store_config>(),
                        "durability");
    CHECK_THROWS_NAMING(aitl::config_error, json::parse(R"({"busy_timeout":5})").get<aitl::sqlite_store_config>(), "busy_timeout");
    CHECK_THROWS_NAMING(aitl::config_error, json::parse(R"({"read_only":"yes"})").get<aitl::sqlite_store_config>(), "read_only");
    CHECK_THROWS_NAMING(aitl::config_error, json::parse(R"({"group_commit_max":-1})").get<aitl::sqlite_store_config>(),
                        "group_commit_max");

    temp_dir dir;
    aitl::sqlite_store_config bad;
    bad.group_commit_max = 0;
    CHECK_THROWS_NAMING(aitl::config_error, aitl::sqlite_store(dir.file("s.db"), bad), "group_commit_max");
    bad = {};
    bad.busy_timeout_ms = -1;
    CHECK_THROWS_NAMING(aitl::config_error, aitl::sqlite_store(dir.file("s.db"), bad), "busy_timeout_ms");
}

TEST_CASE("append(impressions, annotations) writes both in one transaction, impressions first, all or nothing",
          "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    const auto old_imp = store.append(make_impression("imp-old", "case-0", 500));
    const aitl::store_stats before = store.stats();

    // One bad annotation (a label for a reference not shown): nothing of the call is stored.
    std::vector<aitl::impression> imps{make_impression("imp-m1", "case-1", 1000), make_impression("", "case-1", 1001)};
    auto bad = a_relevance();
    bad.labels[2].doc_id = "d9";
    std::vector<aitl::annotation> anns{make_annotation("imp-m1", a_preference()), make_annotation(old_imp, a_missing()),
                                       make_annotation("imp-m1", bad)};
    CHECK_THROWS_NAMING(aitl::config_error, store.append(imps, anns), "'labels[2].doc_id'");
    CHECK(store.stats() == before);
    CHECK(!store.contains_impression("imp-m1"));
    // The impression of the failed call is not known to later appends either.
    CHECK_THROWS_NAMING(aitl::not_found, store.append(make_annotation("imp-m1", a_preference())), "imp-m1");
    anns[2] = make_annotation("imp-nope", a_missing());
    CHECK_THROWS_NAMING(aitl::not_found, store.append(imps, anns), "imp-nope");
    CHECK(store.stats() == before);

    // Valid: the impression ids, then the annotation ids, in order; annotations may refer to the
    // impressions of the same call.
    anns[2] = make_annotation("imp-m1", a_relevance());
    const auto ids = store.append(imps, anns);
    REQUIRE(ids.size() == 5);
    CHECK(ids[0] == "imp-m1");
    CHECK(ids[1].rfind("imp-", 0) == 0);
    CHECK(ids[1].size() == 20);
    for (std::size_t i = 2; i < 5; ++i) CHECK(ids[i].rfind("ann-", 0) == 0);
    CHECK(store.get_impression(ids[1]).case_id == "case-1");
    const auto stored = store.annotations();
    REQUIRE(stored.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(stored[i].id == ids[2 + i]);
        CHECK(stored[i].impression_id == anns[i].impression_id);
    }
    CHECK(store.get_impression("imp-m1").seq < store.get_impression(ids[1]).seq);
    CHECK(store.append(std::vector<aitl::impression>{}, std::vector<aitl::annotation>{}).empty());
    CHECK(store.append(std::vector<aitl::impression>{make_impression("imp-m3", "c", 1)}, {}) ==
          std::vector<std::string>{"imp-m3"});
}

TEST_CASE("the store reports the same validation errors as validate(annotation, impression)", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    auto two = make_impression("imp-two", "c", 1);  // shown d3 d2 d1 d0, 2 replies
    auto one = make_impression("imp-one", "c", 2, 20, 1);  // shown d19..d0, 1 reply
    auto none = make_impression("imp-none", "c", 3, 4, 0);
    store.append(std::vector<aitl::impression>{two, one, none});
    std::vector<std::pair<const aitl::impression*, aitl::annotation>> cases;
    auto add = [&](const aitl::impression& imp, aitl::annotation_body body) {
        cases.emplace_back(&imp, make_annotation(imp.id, std::move(body)));
    };
    auto r = a_relevance();
    r.labels[1].doc_id = "d9";
    add(two, r);
    r = a_relevance();
    r.selected[1] = "d1";
    add(two, r);
    add(one, a_preference());
    add(none, a_preference());
    add(one, an_adoption());
    add(none, aitl::adoption{aitl::adoption_outcome::not_used, 0, "", {}, ""});
    // Many labels (past the linear scan of the duplicate checks).
    aitl::knowledge_relevance many;
    for (int i = 0; i < 20; ++i) many.labels.push_back({"d" + std::to_string(i), i % 2 == 0});
    many.selected = {"x1", "x2"};
    add(one, many);  // valid
    many.labels[18].doc_id = "d3";
    add(one, many);  // labelled twice
    many.labels[18].doc_id = "d18";
    many.selected.push_back("d19");
    add(one, many);  // hand-selected but labelled
    many.selected.back() = "x1";
    add(one, many);  // selected twice
    many.selected.back() = "x3";
    many.labels.push_back({"d20", true});
    add(one, many);  // not shown
    for (const auto& [imp, a] : cases) {
        const std::string expected = what_of<aitl::config_error>([&] { aitl::validate(a, *imp); });
        INFO(expected);
        CHECK(what_of<aitl::config_error>([&] { store.append(a); }) == expected);
        CHECK(what_of<aitl::config_error>([&] { store.append(std::vector<aitl::annotation>{a}); }) == expected);
    }
    CHECK(what_of<aitl::config_error>([&] { aitl::validate(cases[7].second); }).find("'labels[18].doc_id': labelled twice (got 'd3')") !=
          std::string::npos);
    CHECK(what_of<aitl::config_error>([&] { aitl::validate(cases[8].second); }).find("'selected[2]': also labelled") !=
          std::string::npos);
    CHECK(what_of<aitl::config_error>([&] { aitl::validate(cases[9].second); }).find("'selected[2]': selected twice") !=
          std::string::npos);
    CHECK(store.stats().annotations() == 2);  // the valid case, appended alone and as a batch
}

TEST_CASE("impressions of rolled-back appends never validate a later annotation", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"), {aitl::durability::normal});
    const auto base = store.append(make_impression("imp-base", "c", 1));

    // A batch of impressions fails on its last one (a duplicate id) after the first was written.
    std::vector<aitl::impression> imps{make_impression("imp-r1", "c", 2), make_impression("imp-base", "c", 3)};
    CHECK_THROWS_NAMING(aitl::config_error, store.append(imps), "'id'");
    CHECK_THROWS_AS(store.append(make_annotation("imp-r1", a_missing())), aitl::not_found);
    // A mixed batch fails on an annotation checked against its impression, written and used
    // earlier in the same call ...
    auto not_shown = a_relevance();
    not_shown.labels[0].doc_id = "not-shown";
    const std::vector<aitl::impression> r2{make_impression("imp-r2", "c", 4)};
    std::vector<aitl::annotation> anns{make_annotation("imp-r2", a_relevance()), make_annotation("imp-r2", not_shown)};
    CHECK_THROWS_NAMING(aitl::config_error, store.append(r2, anns), "'labels[0].doc_id'");
    // ... or on a duplicate annotation id.
    const auto taken = store.append(make_annotation(base, a_missing()));
    anns[1] = make_annotation("imp-r2", an_adoption());
    anns[1].id = taken;
    CHECK_THROWS_NAMING(aitl::config_error, store.append(r2, anns), "'id'");
    for (const char* id : {"imp-r1", "imp-r2"}) {
        INFO(id);
        CHECK(!store.contains_impression(id));
        CHECK_THROWS_AS(store.append(make_annotation(id, a_missing())), aitl::not_found);
        CHECK_THROWS_AS(store.append(std::vector<aitl::annotation>{make_annotation(id, a_preference())}), aitl::not_found);
    }
    // The same ids stored for real are then found (and checked against what was stored).
    store.append(std::vector<aitl::impression>{make_impression("imp-r1", "c", 2), make_impression("imp-r2", "c", 4, 4, 1)});
    CHECK_NOTHROW(store.append(make_annotation("imp-r1", a_preference())));
    CHECK_THROWS_NAMING(aitl::config_error, store.append(make_annotation("imp-r2", a_preference())), "'choice'");
    CHECK(store.stats().annotations() == 2);

    // sqlite_store_st: the same.
    aitl::sqlite_store_st st(dir.file("st.db"), {aitl::durability::normal});
    CHECK_THROWS_AS(st.append(std::vector<aitl::impression>{make_impression("imp-s", "c", 1)},
                              {make_annotation("imp-s", not_shown)}),
                    aitl::config_error);
    CHECK_THROWS_AS(st.append(make_annotation("imp-s", a_missing())), aitl::not_found);
}

TEST_CASE("in a group commit a rejected request's impression is rolled back alone and stays unknown",
          "[store][concurrency]") {
    temp_dir dir;
    const std::string path = dir.file("g.db");
    aitl::sqlite_store store(path, {aitl::durability::normal});
    const auto base = store.append(make_impression("imp-base", "c", 1));
    // Another connection holds the write lock, so the requests below queue up behind a leader
    // waiting for it and are then written together, each in its own savepoint.
    aitl::detail::sqlite_db blocker(path, SQLITE_OPEN_READWRITE, "test");
    blocker.exec("BEGIN IMMEDIATE");
    std::vector<std::string> outcome(5);
    auto run = [&](std::size_t i, auto f) {
        return std::thread([&outcome, i, f] {
            try {
                f();
                outcome[i] = "ok";
            } catch (const aitl::not_found&) {
                outcome[i] = "not_found";
            } catch (const aitl::config_error& e) {
                outcome[i] = std::string("config_error ") + e.what();
            } catch (const std::exception& e) {
                outcome[i] = std::string("other ") + e.what();
            }
        });
    };
    std::vector<std::thread> threads;
    auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(60)); };
    threads.push_back(run(0, [&] { store.append(make_impression("imp-leader", "c", 2)); }));  // the leader, waiting
    pause();
    auto not_shown = a_relevance();
    not_shown.labels[1].doc_id = "not-shown";
    threads.push_back(run(1, [&] {  // rejected by the writer after writing its impression
        store.append(std::vector<aitl::impression>{make_impression("imp-rejected", "c", 3)},
                     {make_annotation("imp-rejected", a_missing()), make_annotation("imp-rejected", not_shown)});
    }));
    pause();
    threads.push_back(run(2, [&] { store.append(make_annotation("imp-rejected", a_missing())); }));
    pause();
    threads.push_back(run(3, [&] { store.append(make_annotation(base, a_relevance())); }));
    pause();
    threads.push_back(run(4, [&] {
        store.append(std::vector<aitl::impression>{make_impression("imp-kept", "c", 4)},
                     {make_annotation("imp-kept", a_relevance())});
    }));
    pause();
    blocker.exec("COMMIT");
    for (auto& t : threads) t.join();
    CHECK(outcome[0] == "ok");
    CHECK(outcome[1].find("'labels[1].doc_id'") != std::string::npos);
    CHECK(outcome[2] == "not_found");
    CHECK(outcome[3] == "ok");
    CHECK(outcome[4] == "ok");
    CHECK(!store.contains_impression("imp-rejected"));
    CHECK_THROWS_AS(store.append(make_annotation("imp-rejected", a_missing())), aitl::not_found);
    CHECK(store.contains_impression("imp-kept"));
    CHECK_NOTHROW(store.append(make_annotation("imp-kept", a_preference())));
    const auto s = store.stats();
    CHECK(s.impressions == 3);
    CHECK(s.annotations() == 3);
    const file_check c = check_file(path);
    CHECK(c.integrity == "ok");
    CHECK(c.bad_label_counts == 0);
}

// ---------------------------------------------------------------------------------------------
// Store: round trips
// ---------------------------------------------------------------------------------------------

TEST_CASE("every record type round-trips through the store and a byte-identical JSONL export/import", "[store]") {
    temp_dir dir;
    std::vector<aitl::impression> imps{make_impression("", "case-1", 1700000000000),
                                       make_impression("imp-fixed", "case-2", 1700000001000, 8, 1,
                                                       {{"retriever", "bm25@2"}, {"reranker", "lambdamart@7"}}),
                                       make_impression("", "case-3", 1700000002000, 0, 0, {})};
    imps[1].context.clear();
    std::vector<aitl::annotation> anns;
    std::vector<std::string> imp_ids;
    {
        aitl::sqlite_store store(dir.file("a.db"));
        CHECK(store.schema_version() == aitl::sqlite_schema_version);
        CHECK(store.path() == dir.file("a.db"));
        imp_ids = store.append(imps);
        REQUIRE(imp_ids.size() == 3);
        CHECK(imp_ids[1] == "imp-fixed");
        for (std::size_t i = 0; i < imps.size(); ++i) {
            imps[i].id = imp_ids[i];
            imps[i].seq = static_cast<std::int64_t>(i + 1);
        }
        anns = {make_annotation(imp_ids[0], a_preference()),
                make_annotation(imp_ids[0], an_adoption(), "agent-1"),
                make_annotation(imp_ids[0], a_relevance(), "agent-2"),
                make_annotation(imp_ids[1], a_missing()),
                make_annotation(imp_ids[1], aitl::adoption{aitl::adoption_outcome::not_used, 0, "", {}, ""}),
                make_annotation(imp_ids[1], aitl::knowledge_relevance{{{"d7", false}}, {}}),
                make_annotation(imp_ids[2], aitl::knowledge_relevance{{}, {"d5"}}),
                make_annotation(imp_ids[2], aitl::missing_knowledge{"nothing shown at all", ""})};
        anns[3].id = "ann-custom";
        anns[1].weight = 0.1 + 0.2;
        anns[2].weight = 1e-9;
        std::vector<std::string> ids{store.append(anns[0]), store.append(anns[1])};
        auto rest = store.append(std::vector<aitl::annotation>(anns.begin() + 2, anns.end()));
        ids.insert(ids.end(), rest.begin(), rest.end());
        REQUIRE(ids.size() == anns.size());
        CHECK(ids[3] == "ann-custom");
        CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
        for (std::size_t i = 0; i < anns.size(); ++i) {
            anns[i].id = ids[i];
            anns[i].seq = static_cast<std::int64_t>(i + 1);
        }
        CHECK(store.impressions() == imps);
        CHECK(store.annotations() == anns);
        for (const auto& a : anns) CHECK(store.get_annotation(a.id) == a);
        for (const auto& i : imps) CHECK(store.get_impression(i.id) == i);
        CHECK(store.annotations_since(0) == anns);
        CHECK(store.annotations_since(5) == std::vector<aitl::annotation>(anns.begin() + 5, anns.end()));
        CHECK(store.annotations_since(2, 2) == std::vector<aitl::annotation>(anns.begin() + 2, anns.begin() + 4));
        CHECK(store.annotations_since(8).empty());
        store.export_jsonl(dir.file("a.jsonl"));
    }
    const std::string first = dir.read("a.jsonl");
    CHECK(first.rfind("{\"type\":\"aitl_store\",\"schema_version\":2,\"impressions\":3,\"annotations\":8}\n", 0) == 0);
    CHECK(std::count(first.begin(), first.end(), '\n') == 12);
    CHECK(!fs::exists(dir.file("a.jsonl.tmp")));

    aitl::sqlite_store_st copy(dir.file("b.db"));
    CHECK(copy.import_jsonl(dir.file("a.jsonl")) == 11);
    CHECK(copy.impressions() == imps);
    CHECK(copy.annotations() == anns);
    CHECK(copy.stats().annotation_watermark == 8);
    copy.export_jsonl(dir.file("b.jsonl"));
    CHECK(dir.read("b.jsonl") == first);

    // Importing again: the ids and seqs are taken; the store is unchanged.
    const auto stats = copy.stats();
    auto e = what_of<aitl::parse_error>([&] { copy.import_jsonl(dir.file("a.jsonl")); });
    CHECK(e.find("a.jsonl:2: field 'seq'") != std::string::npos);
    CHECK(copy.stats() == stats);
}

TEST_CASE("import_jsonl reports the file, line and field of bad input and changes nothing", "[store]") {
    temp_dir dir;
    std::string exported;
    {
        aitl::sqlite_store store(dir.file("a.db"));
        auto imp = store.append(make_impression("imp-1", "c", 10));
        store.append(make_annotation(imp, a_preference()));
        store.append(make_annotation(imp, a_relevance()));
        store.export_jsonl(dir.file("a.jsonl"));
        exported = dir.read("a.jsonl");
    }
    std::vector<std::string> lines;
    {
        std::istringstream in(exported);
        for (std::string l; std::getline(in, l);) lines.push_back(l);
    }
    REQUIRE(lines.size() == 4);
    auto file_with = [&](std::size_t at, const std::string& text) {
        auto v = lines;
        v[at] = text;
        std::string s;
        for (const auto& l : v) s += l + "\n";
        return dir.write("bad.jsonl", s);
    };
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        auto p = s.find(from);
        REQUIRE(p != std::string::npos);
        return s.replace(p, from.size(), to);
    };
    aitl::sqlite_store target(dir.file("t.db"));
    auto expect = [&](const std::string& path, std::size_t line, const std::string& field) {
        try {
            target.import_jsonl(path);
            FAIL("no parse_error");
        } catch (const aitl::parse_error& e) {
            INFO(e.what());
            CHECK(e.file() == path);
            CHECK(e.line() == line);
            CHECK(e.field() == field);
        }
        CHECK(target.stats() == aitl::store_stats{});
    };
    expect(file_with(2, replace(lines[2], "\"choice\":\"b\"", "\"choice\":\"c\"")), 3, "choice");
    expect(file_with(3, replace(lines[3], "\"doc_id\":\"d0\"", "\"doc_id\":\"d99\"")), 4, "labels[0].doc_id");
    expect(file_with(3, replace(lines[3], "\"impression_id\":\"imp-1\"", "\"impression_id\":\"imp-2\"")), 4, "impression_id");
    expect(file_with(2, "{not json"), 3, "");
    expect(file_with(0, replace(lines[0], "\"annotations\":2", "\"annotations\":3")), 1, "annotations");
    expect(file_with(0, replace(lines[0], "\"schema_version\":2", "\"schema_version\":9")), 1, "schema_version");
    expect(file_with(0, "{\"type\":\"something else\"}"), 1, "type");
    expect(dir.write("empty.jsonl", ""), 0, "type");
    CHECK_THROWS_AS(target.import_jsonl(dir.file("missing.jsonl")), aitl::io_error);

    // Records without seq or id are given new ones.
    auto j = json::parse(lines[1]);
    j.erase("seq");
    j.erase("id");
    dir.write("fresh.jsonl", "{\"type\":\"aitl_store\",\"schema_version\":2,\"impressions\":1,\"annotations\":0}\n" +
                                 j.dump() + "\n");
    CHECK(target.import_jsonl(dir.file("fresh.jsonl")) == 1);
    auto got = target.impressions();
    REQUIRE(got.size() == 1);
    CHECK(got[0].seq == 1);
    CHECK(got[0].id.rfind("imp-", 0) == 0);
    CHECK(got[0].id != "imp-1");
}

// ---------------------------------------------------------------------------------------------
// Store: queries
// ---------------------------------------------------------------------------------------------

TEST_CASE("store filters select by time window, annotator, model version, case, kind, after_seq and limit", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    store.append(std::vector<aitl::impression>{
        make_impression("i1", "c1", 1000, 4, 2, {{"retriever", "bm25@1"}}),
        make_impression("i2", "c1", 2000, 4, 2, {{"retriever", "bm25@2"}}),
        make_impression("i3", "c2", 3000, 4, 2, {{"retriever", "bm25@1"}, {"generator", "ext@1"}})});
    // seq: imp, kind, annotator, timestamp
    std::vector<aitl::annotation> anns{
        make_annotation("i1", a_preference(), "ann-a", 1100),    // 1
        make_annotation("i1", a_relevance(), "ann-b", 1200),     // 2
        make_annotation("i2", a_relevance(), "ann-a", 2100),     // 3
        make_annotation("i2", an_adoption(), "ann-b", 2200),     // 4
        make_annotation("i3", a_missing(), "ann-a", 3100),       // 5
        make_annotation("i3", a_relevance(), "ann-a", 3200),     // 6
        make_annotation("i3", a_preference(), "ann-c", 3300)};   // 7
    auto ids = store.append(anns);
    for (std::size_t i = 0; i < anns.size(); ++i) {
        anns[i].id = ids[i];
        anns[i].seq = static_cast<std::int64_t>(i + 1);
    }
    auto pick = [&](std::initializer_list<int> seqs) {
        std::vector<aitl::annotation> out;
        for (int s : seqs) out.push_back(anns[static_cast<std::size_t>(s - 1)]);
        return out;
    };
    auto q = [&](auto set) {
        aitl::store_filter f;
        set(f);
        return store.annotations(f);
    };
    CHECK(q([](auto&) {}) == anns);
    CHECK(q([](auto& f) { f.from_ms = 1200; f.to_ms = 3100; }) == pick({2, 3, 4}));
    CHECK(q([](auto& f) { f.from_ms = 3150; }) == pick({6, 7}));
    CHECK(q([](auto& f) { f.to_ms = 1100; }).empty());
    CHECK(q([](auto& f) { f.annotator = "ann-a"; }) == pick({1, 3, 5, 6}));
    CHECK(q([](auto& f) { f.annotator = "nobody"; }).empty());
    CHECK(q([](auto& f) { f.model_version = "bm25@1"; }) == pick({1, 2, 5, 6, 7}));
    CHECK(q([](auto& f) { f.model_version = "ext@1"; }) == pick({5, 6, 7}));
    CHECK(q([](auto& f) { f.case_id = "c1"; }) == pick({1, 2, 3, 4}));
    CHECK(q([](auto& f) { f.impression_id = "i2"; }) == pick({3, 4}));
    CHECK(q([](auto& f) { f.kind = aitl::annotation_kind::knowledge_relevance; }) == pick({2, 3, 6}));
    CHECK(q([](auto& f) { f.kind = aitl::annotation_kind::preference; f.annotator = "ann-c"; }) == pick({7}));
    CHECK(q([](auto& f) { f.after_seq = 2; f.limit = 3; }) == pick({3, 4, 5}));
    CHECK(q([](auto& f) { f.annotator = "ann-a"; f.after_seq = 1; f.limit = 2; }) == pick({3, 5}));
    CHECK(q([](auto& f) { f.kind = aitl::annotation_kind::knowledge_relevance; f.case_id = "c1"; f.limit = 1; }) == pick({2}));

    auto qi = [&](auto set) {
        aitl::store_filter f;
        set(f);
        return ids_of(store.impressions(f));
    };
    using sv = std::vector<std::string>;
    CHECK(qi([](auto&) {}) == sv{"i1", "i2", "i3"});
    CHECK(qi([](auto& f) { f.from_ms = 1500; f.to_ms = 3000; }) == sv{"i2"});
    CHECK(qi([](auto& f) { f.case_id = "c1"; }) == sv{"i1", "i2"});
    CHECK(qi([](auto& f) { f.model_version = "bm25@1"; }) == sv{"i1", "i3"});
    CHECK(qi([](auto& f) { f.annotator = "ann-b"; }) == sv{"i1", "i2"});
    CHECK(qi([](auto& f) { f.kind = aitl::annotation_kind::missing_knowledge; }) == sv{"i3"});
    CHECK(qi([](auto& f) { f.kind = aitl::annotation_kind::preference; f.annotator = "ann-a"; }) == sv{"i1"});
    CHECK(qi([](auto& f) { f.impression_id = "i3"; }) == sv{"i3"});
    CHECK(qi([](auto& f) { f.after_seq = 1; f.limit = 1; }) == sv{"i2"});
    aitl::store_filter f3;
    f3.case_id = "c2";
    CHECK(store.impressions(f3) == std::vector<aitl::impression>{store.get_impression("i3")});

    const auto s = store.stats();
    CHECK(s.impressions == 3);
    CHECK(s.preference == 2);
    CHECK(s.adoption == 1);
    CHECK(s.knowledge_relevance == 3);
    CHECK(s.missing_knowledge == 1);
    CHECK(s.annotations() == 7);
    CHECK(s.count(aitl::annotation_kind::knowledge_relevance) == 3);
    CHECK(s.impression_watermark == 3);
    CHECK(s.annotation_watermark == 7);
    CHECK(store.watermark() == 7);
    CHECK(json(s).at("annotations") == 7);

    CHECK(store.contains_impression("i2"));
    CHECK(!store.contains_impression("i4"));
    CHECK(store.contains_annotation(ids[0]));
    CHECK(!store.contains_annotation("ann-none"));
    CHECK_THROWS_NAMING(aitl::not_found, store.get_impression("i4"), "i4");
    CHECK_THROWS_NAMING(aitl::not_found, store.get_annotation("ann-none"), "ann-none");
}

TEST_CASE("filtered reads return the same records whether matches are dense or sparse in seq order", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    std::vector<aitl::impression> imps;
    for (int i = 0; i < 400; ++i)  // case-k and bm25@k impressions are sparse in seq order
        imps.push_back(make_impression("i" + std::to_string(i), "case-" + std::to_string(i % 7), i, 4, 2,
                                       {{"retriever", "bm25@" + std::to_string(i % 11)}}));
    store.append(imps);
    std::vector<aitl::annotation> anns;
    for (int i = 0; i < 600; ++i) {
        aitl::annotation_body body = a_relevance();
        if (i % 3 == 1) body = a_preference();
        if (i % 6 == 2) body = aitl::knowledge_relevance{{{"d1", i % 2 == 0}}, {"x" + std::to_string(i)}};
        anns.push_back(make_annotation("i" + std::to_string(i % 120), body, "agent-" + std::to_string(i % 13), i));
    }
    store.append(anns);
    const auto all = store.annotations();
    REQUIRE(all.size() == 600);
    const auto all_imps = store.impressions();
    REQUIRE(all_imps.size() == 400);
    auto expect = [&](const aitl::store_filter& f) {
        std::vector<aitl::annotation> want;
        for (const auto& a : all) {
            if (a.seq <= f.after_seq) continue;
            if (f.annotator && a.annotator != *f.annotator) continue;
            if (f.kind && a.kind() != *f.kind) continue;
            if (f.from_ms && a.timestamp_ms < *f.from_ms) continue;
            if (f.to_ms && a.timestamp_ms >= *f.to_ms) continue;
            if (f.impression_id && a.impression_id != *f.impression_id) continue;
            if (f.case_id && store.get_impression(a.impression_id).case_id != *f.case_id) continue;
            if (f.limit && want.size() == f.limit) break;
            want.push_back(a);
        }
        return want;
    };
    for (int k = 0; k < 13; k += 4) {
        aitl::store_filter f;
        f.annotator = "agent-" + std::to_string(k);  // sparse: every 13th annotation
        CHECK(store.annotations(f) == expect(f));
        f.kind = aitl::annotation_kind::knowledge_relevance;
        CHECK(store.annotations(f) == expect(f));
        f.after_seq = 300;
        f.limit = 7;
        CHECK(store.annotations(f) == expect(f));
    }
    aitl::store_filter f;
    f.case_id = "case-3";
    CHECK(store.annotations(f) == expect(f));
    f = {};
    f.from_ms = 100;
    f.to_ms = 500;
    f.kind = aitl::annotation_kind::knowledge_relevance;
    CHECK(store.annotations(f) == expect(f));
    f = {};
    f.impression_id = "i17";
    CHECK(store.annotations(f) == expect(f));
    CHECK(store.annotations(f).size() == 5);

    std::vector<aitl::impression> want;
    for (const auto& i : all_imps)
        if (i.case_id == "case-5") want.push_back(i);
    aitl::store_filter fi;
    fi.case_id = "case-5";
    CHECK(store.impressions(fi) == want);
    want.clear();
    for (const auto& i : all_imps)
        if (i.models.at("retriever") == "bm25@2") want.push_back(i);
    fi = {};
    fi.model_version = "bm25@2";
    CHECK(store.impressions(fi) == want);
}

TEST_CASE("sqlite_store_st stores and reads like sqlite_store", "[store]") {
    temp_dir dir;
    aitl::sqlite_store_st store(dir.file("s.db"), {aitl::durability::normal});
    auto imp = store.append(make_impression("", "c", 1));
    std::vector<aitl::annotation> v{make_annotation(imp, a_relevance()), make_annotation(imp, a_preference())};
    auto ids = store.append(v);
    CHECK(ids.size() == 2);
    CHECK(store.annotations_since(0).size() == 2);
    CHECK(store.annotations_since(1).at(0).id == ids[1]);
    CHECK(store.config().durability_mode == aitl::durability::normal);
    CHECK(store.append(std::vector<aitl::annotation>{}).empty());
    aitl::sqlite_store_st moved(std::move(store));
    CHECK(moved.stats().annotations() == 2);
}

// ---------------------------------------------------------------------------------------------
// Store: files, schema versions, read-only
// ---------------------------------------------------------------------------------------------

TEST_CASE("opening a version-1 store migrates it to version 2 with its data intact", "[store]") {
    temp_dir dir;
    const std::string path = dir.file("old.db");
    auto imp = make_impression("imp-old", "c", 42);
    auto ann = make_annotation("imp-old", a_relevance());
    {
        aitl::detail::sqlite_db db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "test");
        REQUIRE(aitl::detail::sqlite_migrate(db, 1, "test") == 1);
        aitl::detail::sqlite_transaction txn(db, true);
        aitl::detail::insert_impression(db, imp, "imp-old", 0);
        aitl::detail::insert_annotation(db, ann, "ann-old", 0);
        txn.commit();
        CHECK(db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'") == 0);
        CHECK(db.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == 1);
    }
    // Read-only opening does not migrate.
    aitl::sqlite_store_config ro;
    ro.read_only = true;
    CHECK_THROWS_NAMING(aitl::state_error, aitl::sqlite_store(path, ro), "schema version 1");

    aitl::sqlite_store store(path);
    CHECK(store.schema_version() == 2);
    imp.id = "imp-old";
    imp.seq = 1;
    ann.id = "ann-old";
    ann.seq = 1;
    CHECK(store.get_impression("imp-old") == imp);
    CHECK(store.annotations() == std::vector<aitl::annotation>{ann});
    aitl::detail::sqlite_db db(path, SQLITE_OPEN_READONLY, "test");
    CHECK(db.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == 2);
    std::set<std::string> indexes;
    {
        auto st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'");
        while (st.step()) indexes.insert(st.str(0));
    }
    CHECK(indexes == std::set<std::string>{"annotations_by_annotator", "annotations_by_impression", "annotations_by_kind",
                                           "annotations_by_time", "impression_models_by_version", "impressions_by_case",
                                           "impressions_by_time", "relevance_labels_by_doc"});
    CHECK(store.append(make_annotation("imp-old", a_preference())).size() == 20);
}

TEST_CASE("sqlite_store refuses newer schemas, foreign databases and unopenable paths", "[store]") {
    temp_dir dir;
    const std::string path = dir.file("s.db");
    {
        aitl::sqlite_store store(path);
        store.append(make_impression("imp-1", "c", 1));
    }
    {
        aitl::detail::sqlite_db db(path, SQLITE_OPEN_READWRITE, "test");
        db.exec("UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    }
    const std::string newer = what_of<aitl::state_error>([&] { aitl::sqlite_store s(path); });
    CHECK(newer.find("schema version 3") != std::string::npos);
    CHECK(newer.find("library's 2") != std::string::npos);
    CHECK_THROWS_AS(aitl::sqlite_store(path), aitl::state_error);

    const std::string foreign = dir.file("foreign.db");
    {
        aitl::detail::sqlite_db db(foreign, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "test");
        db.exec("CREATE TABLE users (name TEXT)");
    }
    CHECK_THROWS_NAMING(aitl::state_error, aitl::sqlite_store(foreign), "not an aitl store");
    CHECK_THROWS_NAMING(aitl::state_error, aitl::sqlite_store(foreign), "users");
    CHECK(aitl::detail::sqlite_db(foreign, SQLITE_OPEN_READONLY, "test")
              .scalar("SELECT count(*) FROM sqlite_master") == 1);  // left untouched

    const std::string text = dir.write("notes.txt", "these are not the droids you are looking for, not SQLite at all\n");
    CHECK_THROWS_AS(aitl::sqlite_store(text), aitl::io_error);
    const std::string nowhere = dir.file("no/such/dir/s.db");
    CHECK_THROWS_NAMING(aitl::io_error, aitl::sqlite_store(nowhere), nowhere);
    CHECK_THROWS_NAMING(aitl::io_error, aitl::sqlite_store(nowhere), "got no folder");
    // An empty path used to open an anonymous temporary database and fail with "no such table".
    CHECK_THROWS_NAMING(aitl::config_error, aitl::sqlite_store(""), "empty path");
    CHECK_THROWS_NAMING(aitl::io_error, aitl::sqlite_store(dir.path.string()), "got a folder");
}

TEST_CASE("rows changed outside aitl are reported with table, seq and column, never read as 0", "[store]") {
    temp_dir dir;
    const std::string path = dir.file("s.db");
    auto fresh = [&] {
        fs::remove(path);
        aitl::sqlite_store store(path);
        store.append(make_impression("imp-1", "c", 1));
        store.append(make_annotation("imp-1", a_preference()));
        store.append(make_annotation("imp-1", an_adoption()));
        store.append(make_annotation("imp-1", a_relevance()));
    };
    auto edited = [&](const char* sql) {
        fresh();
        aitl::detail::sqlite_db(path, SQLITE_OPEN_READWRITE, "test").exec(sql);
        return aitl::sqlite_store(path);
    };
    const std::pair<const char*, const char*> cases[] = {
        {"UPDATE annotations SET weight = 'abc' WHERE seq = 1", "annotations[seq 1].weight"},
        {"UPDATE annotations SET kind = 9 WHERE seq = 2", "annotations[seq 2].kind"},
        {"UPDATE annotations SET outcome = 5 WHERE seq = 2", "annotations[seq 2].outcome"},
        {"UPDATE annotations SET annotator = x'00ff' WHERE seq = 1", "annotations[seq 1].annotator"},
        {"UPDATE annotations SET weight = -1 WHERE seq = 1", "annotations[seq 1].(record)"},
        {"UPDATE relevance_labels SET label = 7 WHERE annotation_seq = 3 AND ord = 0", "relevance_labels[seq 3].label"},
        {"UPDATE impression_candidates SET score = x'00' WHERE impression_seq = 1 AND rank = 1",
         "impression_candidates[seq 1].score"},
        {"UPDATE impressions SET context = '{\"a\": 1}' WHERE seq = 1", "impressions[seq 1].context"},
    };
    for (const auto& [sql, field] : cases) {
        CAPTURE(sql);
        aitl::sqlite_store store = edited(sql);
        const std::string w = std::string(field).rfind("impression", 0) == 0 ? "impressions" : "annotations";
        aitl::parse_error e("", 0, "", "");
        try {
            if (w == "impressions") store.impressions();
            else store.annotations_since(0);
            FAIL("no parse_error");
        } catch (const aitl::parse_error& x) {
            e = x;
        }
        CHECK(e.field() == field);
        CHECK(e.file() == path);
        CHECK(std::string(e.what()).find("changed outside aitl") != std::string::npos);
        CHECK_THROWS_AS(store.export_jsonl(dir.file("out.jsonl")), aitl::parse_error);
    }
    // stats() agrees with export: a kind aitl never writes fails both the same way.
    aitl::sqlite_store store = edited("UPDATE annotations SET kind = 'adoption' WHERE seq = 2");
    CHECK_THROWS_NAMING(aitl::parse_error, store.stats(), "annotations[seq 2].kind");
    CHECK_THROWS_NAMING(aitl::parse_error, store.export_jsonl(dir.file("out.jsonl")), "annotations[seq 2].kind");
}

TEST_CASE("a batch append names the item that failed and stores nothing", "[store]") {
    temp_dir dir;
    aitl::sqlite_store store(dir.file("s.db"));
    std::vector<aitl::impression> imps{make_impression("imp-1", "c", 1), make_impression("imp-2", "c", 2)};
    imps[1].query.clear();
    CHECK_THROWS_NAMING(aitl::config_error, store.append(imps), "impressions[1]: impression::validate: field 'query'");
    store.append(make_impression("imp-1", "c", 1));
    std::vector<aitl::annotation> anns{make_annotation("imp-1", a_preference()), make_annotation("imp-404", a_preference())};
    CHECK_THROWS_NAMING(aitl::not_found, store.append(anns), "annotations[1]: ");
    CHECK(store.stats().annotations() == 0);
}

TEST_CASE("store import refuses deep nesting and bytes that are not UTF-8 with a short message", "[store]") {
    temp_dir dir;
    const std::string header = "{\"type\":\"aitl_store\",\"schema_version\":2,\"impressions\":1,\"annotations\":0}\n";
    const std::string deep = dir.write("deep.jsonl", header + std::string(100000, '[') + std::string(100000, ']') + "\n");
    aitl::sqlite_store store(dir.file("s.db"));
    const std::string m = what_of<aitl::parse_error>([&] { store.import_jsonl(deep); });
    CHECK(m.find("nested too deeply") != std::string::npos);
    CHECK(m.find(deep + ":2:") == 0);
    CHECK(m.size() < 400);
    const std::string bad = dir.write("bad.jsonl", header + "{\"type\":\"impression\",\"query\":\"caf\xe9\"}\n");
    const std::string b = what_of<aitl::parse_error>([&] { store.import_jsonl(bad); });
    CHECK(b.find("not valid UTF-8 (got byte 0xE9") != std::string::npos);
    CHECK(store.stats().impressions == 0);
}

TEST_CASE("a read_only store reads and refuses every write with state_error", "[store]") {
    temp_dir dir;
    const std::string path = dir.file("s.db");
    aitl::sqlite_store writer(path);
    const auto imp = writer.append(make_impression("", "c", 1));
    writer.append(make_annotation(imp, a_relevance()));
    writer.export_jsonl(dir.file("e.jsonl"));
    aitl::sqlite_store_config ro;
    ro.read_only = true;
    aitl::sqlite_store reader(path, ro);
    CHECK(reader.config().read_only);
    CHECK(reader.stats().annotations() == 1);
    CHECK_THROWS_NAMING(aitl::state_error, reader.append(make_annotation(imp, a_preference())), "read_only");
    CHECK_THROWS_AS(reader.append(make_impression("", "c", 1)), aitl::state_error);
    CHECK_THROWS_AS(reader.append(std::vector<aitl::annotation>{make_annotation(imp, a_missing())}), aitl::state_error);
    CHECK_THROWS_AS(reader.import_jsonl(dir.file("e.jsonl")), aitl::state_error);
    writer.append(make_annotation(imp, a_missing()));
    CHECK(reader.stats().annotations() == 2);  // sees the writer's commits
    CHECK(reader.annotations_since(1).at(0).kind() == aitl::annotation_kind::missing_knowledge);
    CHECK_THROWS_AS(aitl::sqlite_store(dir.file("missing.db"), ro), aitl::io_error);
    CHECK_THROWS_NAMING(aitl::io_error, reader.export_jsonl(dir.file("no/such/dir/e.jsonl")), "no/such/dir/e.jsonl");
}

// ---------------------------------------------------------------------------------------------
// Store: crash safety
// ---------------------------------------------------------------------------------------------

namespace {
// The child: appends forever in `full` mode, reporting each acknowledged id on `fd`.
[[noreturn]] void crash_child(const std::string& path, int fd, unsigned seed, const std::vector<std::string>& imps) {
    try {
        aitl::sqlite_store store(path);  // durability::full
        std::mt19937 rng(seed);
        auto report = [&](const std::string& id) {
            std::string line = id + "\n";
            if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
        };
        std::vector<std::string> mine = imps;
        for (std::uint64_t n = 0;; ++n) {
            const std::string& imp = mine[rng() % mine.size()];
            switch (rng() % 6) {
                case 0: {
                    auto id = store.append(make_impression("", "case-" + std::to_string(n), static_cast<std::int64_t>(n), 8));
                    mine.push_back(id);
                    report(id);
                    break;
                }
                case 1: report(store.append(make_annotation(imp, a_preference()))); break;
                case 2: report(store.append(make_annotation(imp, an_adoption()))); break;
                case 3: {
                    aitl::knowledge_relevance r;
                    for (int d = 0; d < 4; ++d) r.labels.push_back({"d" + std::to_string(d), d % 2 == 0});
                    r.selected = {"x1", "x2", "x3"};
                    report(store.append(make_annotation(imp, r)));
                    break;
                }
                case 4: {
                    std::vector<aitl::annotation> batch{make_annotation(imp, a_relevance()),
                                                        make_annotation(imp, a_missing()),
                                                        make_annotation(imp, a_relevance())};
                    for (const auto& id : store.append(batch)) report(id);
                    break;
                }
                default: {
                    std::vector<aitl::impression> batch{make_impression("", "b", 1, 6), make_impression("", "b", 2, 2, 1)};
                    for (const auto& id : store.append(batch)) report(id);
                    break;
                }
            }
        }
    } catch (...) {
        ::_exit(2);
    }
}
}  // namespace

TEST_CASE("acknowledged appends survive SIGKILL at random moments and nothing is stored partially",
          "[store][crash]") {
    temp_dir dir;
    const std::string path = dir.file("crash.db");
    std::vector<std::string> imps;
    {
        aitl::sqlite_store store(path);
        for (int i = 0; i < 5; ++i) imps.push_back(store.append(make_impression("", "seed", i)));
    }
    std::mt19937 rng(20240611);
    std::vector<std::string> acknowledged;
    std::size_t kills_mid_run = 0;
    for (int round = 0; round < 20; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const unsigned child_seed = rng();
        const int delay_ms = 20 + static_cast<int>(rng() % 281);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(fds[0]);
            crash_child(path, fds[1], child_seed, imps);
        }
        ::close(fds[1]);
        std::string got;
        auto drain = [&](int timeout_ms) {
            pollfd p{fds[0], POLLIN, 0};
            char buf[4096];
            if (::poll(&p, 1, timeout_ms) > 0) {
                ssize_t n = ::read(fds[0], buf, sizeof buf);
                if (n > 0) got.append(buf, static_cast<std::size_t>(n));
                return n;
            }
            return ssize_t{-2};
        };
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
        while (std::chrono::steady_clock::now() < deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (drain(static_cast<int>(std::max<long long>(1, left.count()))) == 0) break;  // child exited
        }
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills_mid_run;
        while (drain(1000) > 0) {
        }
        ::close(fds[0]);
        std::size_t start = 0;
        for (std::size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1)
            acknowledged.push_back(got.substr(start, nl - start));

        // The store opens, is intact, and holds every acknowledged id.
        const file_check c = check_file(path);
        CHECK(c.integrity == "ok");
        CHECK(c.bad_label_counts == 0);
        CHECK(c.bad_impression_counts == 0);
        aitl::sqlite_store_st store(path);
        std::size_t missing = 0;
        for (const auto& id : acknowledged)
            missing += id.rfind("imp-", 0) == 0 ? !store.contains_impression(id) : !store.contains_annotation(id);
        CHECK(missing == 0);
        const auto s = store.stats();
        CHECK(s.impressions + s.annotations() >= acknowledged.size() + imps.size());
        auto all = store.annotations();
        for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].seq < all[i].seq);
    }
    CHECK(kills_mid_run == 20);
    CHECK(acknowledged.size() > 20);
    CHECK(std::set<std::string>(acknowledged.begin(), acknowledged.end()).size() == acknowledged.size());
    if (std::getenv("AITL_TEST_VERBOSE"))
        std::fprintf(stderr, "crash test: %zu acknowledged ids over 20 kills, all present\n", acknowledged.size());
}

// ---------------------------------------------------------------------------------------------
// Store: concurrency
// ---------------------------------------------------------------------------------------------

TEST_CASE("concurrent writers and readers on one store (and a second store object) lose and repeat nothing",
          "[store][concurrency]") {
    temp_dir dir;
    const std::string path = dir.file("c.db");
    aitl::sqlite_store_config cfg;
    cfg.durability_mode = aitl::durability::normal;
    cfg.group_commit_max = 16;
    aitl::sqlite_store store(path, cfg);
    aitl::sqlite_store other(path, cfg);  // another connection to the same file, as another process would
    std::vector<std::string> seed_imps;
    for (int i = 0; i < 8; ++i) seed_imps.push_back(store.append(make_impression("", "seed", i)));

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    auto fail = [&](const std::string& e) {
        std::lock_guard<std::mutex> g(errors_mutex);
        errors.push_back(e);
    };

    struct writer_log {
        std::vector<std::string> imps, anns;
        std::size_t rejected = 0;
    };
    constexpr int n_writers = 5;  // writer 4 uses `other`
    std::vector<writer_log> logs(n_writers);
    auto writer = [&](int w) {
        auto& s = w == 4 ? other : store;
        std::mt19937 rng(1000 + static_cast<unsigned>(w));
        auto& log = logs[static_cast<std::size_t>(w)];
        std::vector<std::string> known = seed_imps;
        const std::string annotator = "w" + std::to_string(w);
        // The second store object waits on SQLite's busy handler while the first holds the write
        // lock; under a sanitizer it may get no turn in 2 s, so it goes on (at most 60 s) until it
        // has written an annotation.
        const auto hard_stop = deadline + std::chrono::seconds(60);
        auto more = [&] {
            const auto now = std::chrono::steady_clock::now();
            return now < deadline || (w == 4 && log.anns.empty() && now < hard_stop);
        };
        try {
            while (more()) {
                const std::string& imp = known[rng() % known.size()];
                switch (rng() % 8) {
                    case 0: {
                        auto id = s.append(make_impression("", "case-" + annotator, 5));
                        log.imps.push_back(id);
                        known.push_back(id);
                        break;
                    }
                    case 1: {
                        auto ids = s.append(std::vector<aitl::impression>{make_impression("", "b", 1), make_impression("", "b", 2)});
                        log.imps.insert(log.imps.end(), ids.begin(), ids.end());
                        break;
                    }
                    case 2: {
                        std::vector<aitl::annotation> batch{make_annotation(imp, a_relevance(), annotator),
                                                            make_annotation(imp, a_missing(), annotator),
                                                            make_annotation(imp, a_preference(), annotator)};
                        auto ids = s.append(batch);
                        log.anns.insert(log.anns.end(), ids.begin(), ids.end());
                        break;
                    }
                    case 3: {  // invalid: rejected alone, even inside a group commit
                        auto r = a_relevance();
                        r.labels[0].doc_id = "not-shown";
                        try {
                            s.append(make_annotation(imp, r, annotator));
                            fail("an invalid annotation was stored");
                        } catch (const aitl::config_error&) {
                            ++log.rejected;
                        }
                        break;
                    }
                    case 4: log.anns.push_back(s.append(make_annotation(imp, an_adoption(), annotator))); break;
                    case 5: log.anns.push_back(s.append(make_annotation(imp, a_preference(), annotator))); break;
                    default: log.anns.push_back(s.append(make_annotation(imp, a_relevance(), annotator))); break;
                }
            }
        } catch (const std::exception& e) {
            fail(std::string("writer ") + std::to_string(w) + ": " + e.what());
        }
    };

    struct reader_log {
        std::int64_t watermark = 0;
        std::set<std::string> seen;
        std::size_t reads = 0;
    };
    std::vector<reader_log> rlogs(4);
    auto reader = [&](int r) {
        auto& log = rlogs[static_cast<std::size_t>(r)];
        std::size_t last_count = 0;
        std::int64_t last_imp_wm = 0;
        try {
            while (std::chrono::steady_clock::now() < deadline) {
                auto v = store.annotations_since(log.watermark, 50);
                for (const auto& a : v) {
                    if (a.seq <= log.watermark) fail("annotations_since: seq not increasing");
                    log.watermark = a.seq;
                    if (!log.seen.insert(a.id).second) fail("annotations_since: id returned twice");
                    if (const auto* kr = std::get_if<aitl::knowledge_relevance>(&a.body))
                        if (kr->labels.size() != 3 || kr->selected.size() != 2) fail("partial relevance labels");
                }
                ++log.reads;
                const auto st = store.stats();
                if (st.annotations() < last_count || st.impression_watermark < last_imp_wm) fail("stats went backwards");
                last_count = st.annotations();
                last_imp_wm = st.impression_watermark;
                aitl::store_filter f;
                f.annotator = "w" + std::to_string(r);
                f.kind = aitl::annotation_kind::knowledge_relevance;
                f.limit = 20;
                f.after_seq = std::max<std::int64_t>(0, log.watermark - 200);
                auto mine = store.annotations(f);
                for (std::size_t i = 0; i < mine.size(); ++i) {
                    if (i > 0 && mine[i - 1].seq >= mine[i].seq) fail("filtered query: seq not increasing");
                    if (mine[i].annotator != f.annotator || mine[i].kind() != *f.kind) fail("filtered query: wrong record");
                }
                aitl::store_filter fi;
                fi.case_id = "b";
                fi.limit = 5;
                for (const auto& imp : store.impressions(fi))
                    if (imp.shown.size() != 4 || imp.replies.size() != 2) fail("partial impression");
            }
        } catch (const std::exception& e) {
            fail(std::string("reader ") + std::to_string(r) + ": " + e.what());
        }
    };

    std::vector<std::thread> threads;
    for (int w = 0; w < n_writers; ++w) threads.emplace_back(writer, w);
    for (int r = 0; r < 4; ++r) threads.emplace_back(reader, r);
    for (auto& t : threads) t.join();
    for (const auto& e : errors) FAIL_CHECK(e);
    CHECK(errors.empty());

    std::multiset<std::string> appended_anns, appended_imps;
    std::size_t rejected = 0;
    for (const auto& l : logs) {
        appended_anns.insert(l.anns.begin(), l.anns.end());
        appended_imps.insert(l.imps.begin(), l.imps.end());
        rejected += l.rejected;
    }
    CHECK(rejected > 0);
    CHECK(!logs[4].anns.empty());  // the second store object wrote too
    const auto all = store.annotations();
    const auto all_ids = ids_of(all);
    const std::multiset<std::string> stored(all_ids.begin(), all_ids.end());
    CHECK(stored == appended_anns);
    CHECK(std::set<std::string>(stored.begin(), stored.end()).size() == stored.size());
    for (std::size_t i = 1; i < all.size(); ++i) REQUIRE(all[i - 1].seq < all[i].seq);
    const auto s = store.stats();
    CHECK(s.annotations() == appended_anns.size());
    CHECK(s.impressions == appended_imps.size() + seed_imps.size());
    CHECK(s.annotation_watermark == all.back().seq);
    auto imps = store.impressions();
    for (std::size_t i = 1; i < imps.size(); ++i) REQUIRE(imps[i - 1].seq < imps[i].seq);

    // Each reader, resuming from its watermark, has seen every annotation exactly once.
    for (auto& log : rlogs) {
        for (const auto& a : store.annotations_since(log.watermark))
            CHECK(log.seen.insert(a.id).second);
        CHECK(log.seen.size() == appended_anns.size());
        CHECK(log.reads > 0);
    }
    const file_check c = check_file(path);
    CHECK(c.integrity == "ok");
    CHECK(c.bad_label_counts == 0);
    CHECK(c.bad_impression_counts == 0);
    if (std::getenv("AITL_TEST_VERBOSE")) {
        std::size_t reads = 0;
        for (const auto& l : rlogs) reads += l.reads;
        std::fprintf(stderr, "concurrency test: %zu annotations, %zu impressions, %zu rejected, %zu reader rounds\n",
                     appended_anns.size(), appended_imps.size(), rejected, reads);
    }
}
