// Log a served suggestion (an impression), record the four agent annotations in the SQLite
// store, read them back since a watermark and export the store as JSONL.
//   example_02_feedback [BEIR_DIR]        (default: examples/data/helpcentre)
#include <cstdio>
#include <filesystem>
#include <string>

#include <aitl/feedback/annotation.hpp>
#include <aitl/feedback/impression.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/store/sqlite_store.hpp>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    fs::path data = argc > 1 ? fs::path(argv[1]) : fs::path(__FILE__).parent_path().parent_path() / "data" / "helpcentre";
    auto kb = aitl::knowledge_base::load_beir(data.string());
    aitl::bm25 bm25;
    bm25.add(kb);

    // Serve one case: retrieve 75, show 8, two replies on randomised sides. Log it when shown.
    aitl::impression imp;
    imp.case_id = "case-1001";
    imp.query = "my card keeps getting rejected at checkout";
    imp.timestamp_ms = 1700000000000;
    auto top = bm25.search(imp.query, 75);
    for (std::size_t i = 0; i < top.size(); ++i) {
        imp.retrieved.push_back({top[i].id, static_cast<std::uint32_t>(i + 1), top[i].score});
        if (i < 8) imp.shown.push_back({top[i].id, static_cast<std::uint32_t>(i + 1), top[i].score});
    }
    imp.replies = {{"champion", kb.get(top[0].id).title + " [" + top[0].id + "]", aitl::screen_position::right},
                   {"challenger", kb.get(top[1].id).title + " [" + top[1].id + "]", aitl::screen_position::left}};
    imp.models = {{"retriever", "bm25@0"}, {"reranker", "identity@0"}, {"generator", "extractive@0"}};

    fs::path dir = fs::temp_directory_path() / "aitl_example_02";
    fs::remove_all(dir);
    fs::create_directories(dir);
    aitl::sqlite_store store((dir / "feedback.db").string());  // durability::full by default
    std::string imp_id = store.append(imp);

    // The agent's four annotations, each tied to the impression.
    auto make = [&](aitl::annotation_body body, std::int64_t after_ms) {
        aitl::annotation a;
        a.impression_id = imp_id;
        a.annotator = "agent-01";
        a.timestamp_ms = imp.timestamp_ms + after_ms;
        a.time_to_annotate_ms = 5000;
        a.body = std::move(body);
        return a;
    };
    store.append(std::vector<aitl::annotation>{
        make(aitl::preference{aitl::preference_choice::a, aitl::preference_strength::clear, "right article"}, 5000),
        make(aitl::adoption{aitl::adoption_outcome::used_with_edits, 0, "Sorry! " + imp.replies[0].text,
                            {aitl::adoption_reason::tone}, ""}, 10000),
        make(aitl::knowledge_relevance{{{imp.shown[0].doc_id, true}, {imp.shown[1].doc_id, false}}, {}}, 15000),
        make(aitl::missing_knowledge{"no article on cards issued abroad", ""}, 20000)});

    // Bad input names the field, and nothing is stored.
    try {
        store.append(make(aitl::knowledge_relevance{{{"not-shown", true}}, {}}, 25000));
    } catch (const aitl::config_error& e) {
        std::printf("refused: %s\n", e.what());
    }

    auto stats = store.stats();
    std::printf("store: %zu impressions, %zu annotations\n", stats.impressions, stats.annotations());
    for (const auto& a : store.annotations_since(0))
        std::printf("  #%lld %-19s by %s\n", static_cast<long long>(a.seq),
                    std::string(aitl::to_string(a.kind())).c_str(), a.annotator.c_str());
    store.export_jsonl((dir / "feedback.jsonl").string());
    std::printf("exported to %s\n", (dir / "feedback.jsonl").string().c_str());
    return stats.annotations() == 4 ? 0 : 1;
}
