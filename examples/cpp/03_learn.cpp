// Learn from agents' feedback in C++: serve questions with BM25, store the agents' relevance
// judgements and reply preferences in SQLite, compile training data from the store, train the
// hashed encoder (contrastive), the feature ranker (LambdaRank) and the reward model
// (Bradley-Terry), save them, and compare base vs trained on questions not used for training.
//   example_03_learn [BEIR_DIR]        (default: examples/data/helpcentre)
// The "agents" here are the dataset's qrels: a shown reference is marked relevant when the
// qrels say so, a relevant one that was not shown is selected by hand, and the reply citing a
// relevant reference is preferred. Python has the full simulated agents (aitl.sim), and
// `aitl learn` runs the measured experiment (held-out dialogues, bootstrap intervals).
// On the bundled help-centre set BM25 is already perfect, so there is nothing to gain there:
// pass a converted DSTC11 folder (`aitl convert dstc11`) to see the lift (~2 minutes).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <aitl/eval/metrics.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/compile.hpp>
#include <aitl/learn/encoder_trainer.hpp>
#include <aitl/learn/reward_model.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/retrieval/hybrid.hpp>
#include <aitl/store/sqlite_store.hpp>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

static std::map<std::string, std::string> read_queries(const fs::path& file) {
    std::map<std::string, std::string> queries;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) {
            auto j = nlohmann::json::parse(line);
            queries[j.at("_id").get<std::string>()] = j.at("text").get<std::string>();
        }
    return queries;
}

// One served case: BM25 top 75, 8 shown, two replies (the first sentence of the 1st and of the
// 2nd shown reference, each with its citation marker).
static aitl::impression serve(const aitl::bm25& bm25, const aitl::knowledge_base& kb, const std::string& qid,
                              const std::string& query, std::int64_t t) {
    aitl::impression imp;
    imp.case_id = qid;
    imp.query = query;
    imp.timestamp_ms = t;
    auto top = bm25.search(query, 75);
    for (std::size_t i = 0; i < top.size(); ++i) {
        imp.retrieved.push_back({top[i].id, static_cast<std::uint32_t>(i + 1), top[i].score});
        if (i < 8) imp.shown.push_back({top[i].id, static_cast<std::uint32_t>(i + 1), top[i].score});
    }
    auto reply = [&](std::size_t i) {
        const auto& d = kb.get(imp.shown[i].doc_id);
        return d.text.substr(0, d.text.find(". ") + 1) + " [" + d.id + "]";
    };
    imp.replies = {{"top1", reply(0), aitl::screen_position::left}, {"top2", reply(1), aitl::screen_position::right}};
    imp.models = {{"retriever", "bm25@0"}};
    return imp;
}

// The agent's judgements of one impression, from the qrels.
static std::vector<aitl::annotation> judge(const aitl::impression& imp, const std::string& id,
                                           const std::map<std::string, int>& relevant) {
    aitl::knowledge_relevance kr;
    std::map<std::string, bool> shown;
    for (const auto& c : imp.shown) {
        bool rel = relevant.count(c.doc_id) && relevant.at(c.doc_id) > 0;
        kr.labels.push_back({c.doc_id, rel});
        shown[c.doc_id] = rel;
    }
    for (const auto& [doc, grade] : relevant)
        if (grade > 0 && !shown.count(doc)) kr.selected.push_back(doc);
    std::vector<aitl::annotation> out;
    auto add = [&](aitl::annotation_body body, std::int64_t after_ms) {
        aitl::annotation a;
        a.impression_id = id;
        a.annotator = "agent-01";
        a.timestamp_ms = imp.timestamp_ms + after_ms;
        a.body = std::move(body);
        out.push_back(std::move(a));
    };
    add(std::move(kr), 5000);
    bool a_good = shown[imp.shown[0].doc_id], b_good = shown[imp.shown[1].doc_id];
    if (a_good != b_good)
        add(aitl::preference{a_good ? aitl::preference_choice::a : aitl::preference_choice::b,
                             aitl::preference_strength::clear, "cites the right article"},
            8000);
    return out;
}

int main(int argc, char** argv) {
    fs::path data = argc > 1 ? fs::path(argv[1]) : fs::path(__FILE__).parent_path().parent_path() / "data" / "helpcentre";
    const auto kb = aitl::knowledge_base::load_beir(data.string());
    const auto queries = read_queries(data / "queries.jsonl");
    const aitl::qrels judgements = aitl::read_qrels(data / "qrels" / "test.tsv");
    aitl::bm25 bm25;
    bm25.add(kb);

    // Two questions of every three give feedback; the third is held out for the comparison.
    std::vector<std::string> feedback, held_out;
    for (const auto& [qid, _] : queries) (feedback.size() < 2 * (held_out.size() + 1) ? feedback : held_out).push_back(qid);

    fs::path dir = fs::temp_directory_path() / "aitl_example_03";
    fs::remove_all(dir);
    fs::create_directories(dir);
    aitl::sqlite_store store((dir / "feedback.db").string(), aitl::sqlite_store_config{aitl::durability::normal});
    std::int64_t t = 1700000000000;
    for (const auto& qid : feedback) {
        auto imp = serve(bm25, kb, qid, queries.at(qid), t += 60000);
        std::string id = store.append(imp);
        auto it = judgements.find(qid);
        store.append(judge(imp, id, it == judgements.end() ? std::map<std::string, int>{} : it->second));
    }
    auto stats = store.stats();
    std::printf("feedback: %zu questions, %zu annotations in %s\n", feedback.size(), stats.annotations(),
                (dir / "feedback.db").string().c_str());

    // Compile: the store's feedback since watermark 0 -> training data.
    aitl::feedback_batch fb = aitl::load_feedback(store);
    auto retrieval = aitl::compile_retrieval(fb);
    auto lists = aitl::compile_rerank(fb);
    auto prefs = aitl::compile_preferences(fb);
    std::printf("compiled: %zu retrieval examples, %zu rerank lists, %zu preference pairs\n", retrieval.size(),
                lists.size(), prefs.pairs.size());

    // 1. Encoder: contrastive training of the hashed n-gram encoder's projection.
    std::vector<aitl::contrastive_example> pairs;
    for (const auto& e : retrieval) {
        std::vector<std::string> negatives;
        for (const auto& n : e.hard_negatives) negatives.push_back(kb.get(n).indexed_text());
        for (const auto& p : e.positives) pairs.push_back({e.query, kb.get(p).indexed_text(), negatives, e.weight});
    }
    aitl::hashed_encoder encoder(aitl::hashed_encoder_config{});
    aitl::encoder_trainer_config ecfg;
    ecfg.epochs = 10;
    ecfg.batch_size = 16;
    ecfg.seed = 1;
    auto er = aitl::encoder_trainer(ecfg).train(encoder, pairs, {}, [](const aitl::train_progress& p) {
        if (p.end_of_epoch && p.epoch % 2 == 0) std::printf("  encoder epoch %zu/%zu loss %.4f\n", p.epoch, p.epochs, p.loss);
        return true;
    });
    encoder.save((dir / "encoder.bin").string());
    std::printf("encoder: %zu epochs, training loss %.3f -> %.3f\n", er.epochs_run, er.train_loss.front(),
                er.train_loss.back());

    // 2. Reranker over the hybrid (BM25 + trained dense) pool, trained on the agents' labels.
    aitl::dense_retriever<aitl::hashed_encoder, aitl::exact_index> dense(encoder,
                                                                         aitl::exact_index(encoder.dim()));
    dense.add(kb);
    aitl::hybrid<aitl::bm25, decltype(dense)> pool(aitl::bm25(bm25), std::move(dense));
    aitl::feature_ranker ranker(kb);
    ranker.features().set_encoder([&encoder](const std::vector<std::string>& texts) { return encoder.encode(texts); });
    std::vector<aitl::ranking_list> train_lists;
    for (const auto& l : lists) {
        aitl::ranking_list r{l.query, pool.search(l.query, 30), {}, l.weight, {}};
        for (std::size_t i = 0; i < l.candidates.size(); ++i) r.labels.emplace_back(l.candidates[i].doc_id, l.labels[i]);
        train_lists.push_back(std::move(r));
    }
    ranker.fit(train_lists);
    ranker.save_file((dir / "ranker.json").string());

    // 3. Reward model: which of two replies the agents prefer.
    aitl::reward_model reward;
    if (!prefs.pairs.empty()) {
        reward.train(prefs.pairs);
        reward.save((dir / "reward.json").string());
    }

    // Base (BM25) vs trained (pool reranked) on the held-out questions.
    const std::vector<std::string> metrics{"recall@5", "ndcg@10", "mrr@10"};
    aitl::run base, trained;
    aitl::qrels held;
    for (const auto& qid : held_out) {
        base[qid] = bm25.search(queries.at(qid), 30);
        trained[qid] = ranker.rerank(queries.at(qid), pool.search(queries.at(qid), 30), 30);
        if (judgements.count(qid)) held[qid] = judgements.at(qid);
    }
    auto eb = aitl::evaluate(held, base, metrics), et = aitl::evaluate(held, trained, metrics);
    std::printf("\nheld out: %zu questions\n%-10s", held_out.size(), "system");
    for (const auto& m : metrics) std::printf("%11s", m.c_str());
    for (auto [name, e] : {std::pair{"base", &eb}, std::pair{"trained", &et}}) {
        std::printf("\n%-10s", name);
        for (const auto& m : metrics) std::printf("%11.3f", e->mean.at(m));
    }
    std::printf("\nmodels saved in %s\n", dir.string().c_str());
    return 0;
}
