#pragma once
// Deterministic clustering of unit vectors by cosine similarity: a leader (threshold) pass
// that forms tight micro-clusters in input order, then average-link agglomerative merging of
// those micro-clusters until no pair is at least `merge_threshold` apart.
//
// Invariant used throughout: rows are L2-normalised (or zero), so the mean pairwise cosine
// between the members of clusters A and B (average link) is dot(sum_A, sum_B) / (|A| |B|),
// computed from the clusters' sum vectors without a pairwise matrix. Memory is O(m * dim) for
// m micro-clusters; time O(n * m * dim) for the leader pass and about O(m^2 * dim) for merging.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Dense>

#include "../types.hpp"

namespace aitl {
namespace detail {

// Normalises every row to unit length in place (zero rows stay zero).
inline void normalize_rows(row_matrix& x) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
        const float n = x.row(i).norm();
        if (n > 0.0f) x.row(i) /= n;
    }
}

// Subtracts the mean row and renormalises ("common component removal"): what every row shares
// (templates, boilerplate) stops dominating the cosine. Rows that were zero stay zero.
inline void center_rows(row_matrix& x) {
    if (x.rows() < 2) return;
    std::vector<char> zero(static_cast<std::size_t>(x.rows()));
    for (Eigen::Index i = 0; i < x.rows(); ++i) zero[static_cast<std::size_t>(i)] = x.row(i).squaredNorm() == 0.0f;
    const Eigen::RowVectorXf mean = x.colwise().mean();
    for (Eigen::Index i = 0; i < x.rows(); ++i)
        if (!zero[static_cast<std::size_t>(i)]) x.row(i) -= mean;
    normalize_rows(x);
}

// Clusters of row indices: each cluster's members ascending, clusters ordered by their first member.
inline std::vector<std::vector<std::size_t>> cluster_leader_average_link(const row_matrix& x, double leader_threshold,
                                                                         double merge_threshold) {
    const std::size_t n = static_cast<std::size_t>(x.rows());
    const Eigen::Index d = x.cols();
    std::vector<std::vector<std::size_t>> members;
    if (n == 0) return members;

    // 1. Leader pass, in input order: join the micro-cluster whose centroid direction is the
    //    most similar (ties: the earliest) when at least leader_threshold, else start one.
    row_matrix sums(static_cast<Eigen::Index>(std::min<std::size_t>(n, 64)), d);
    row_matrix unit(sums.rows(), d);
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto xi = x.row(static_cast<Eigen::Index>(i));
        std::size_t best = m;
        if (m > 0 && xi.squaredNorm() > 0.0f) {
            const Eigen::VectorXf s = unit.topRows(static_cast<Eigen::Index>(m)) * xi.transpose();
            float top = -std::numeric_limits<float>::infinity();
            for (std::size_t c = 0; c < m; ++c)
                if (s(static_cast<Eigen::Index>(c)) > top) top = s(static_cast<Eigen::Index>(c)), best = c;
            if (static_cast<double>(top) < leader_threshold) best = m;
        }
        if (best == m) {
            if (m == static_cast<std::size_t>(sums.rows())) {
                const Eigen::Index grow = std::min<Eigen::Index>(static_cast<Eigen::Index>(n), sums.rows() * 2);
                sums.conservativeResize(grow, d);
                unit.conservativeResize(grow, d);
            }
            sums.row(static_cast<Eigen::Index>(m)) = xi;
            members.push_back({i});
            ++m;
        } else {
            sums.row(static_cast<Eigen::Index>(best)) += xi;
            members[best].push_back(i);
        }
        const float norm = sums.row(static_cast<Eigen::Index>(best)).norm();
        unit.row(static_cast<Eigen::Index>(best)) =
            norm > 0.0f ? Eigen::RowVectorXf(sums.row(static_cast<Eigen::Index>(best)) / norm)
                        : Eigen::RowVectorXf::Zero(d);
    }

    // 2. Average-link merging: repeatedly merge the most similar pair (ties: smallest indices)
    //    while its average link is >= merge_threshold. Each live cluster keeps its best partner.
    std::vector<double> size(m);
    for (std::size_t c = 0; c < m; ++c) size[c] = static_cast<double>(members[c].size());
    std::vector<char> alive(m, 1);
    std::vector<std::size_t> partner(m, m);
    std::vector<double> link(m, -std::numeric_limits<double>::infinity());
    auto avg_link = [&](std::size_t a, std::size_t b) {
        return static_cast<double>(sums.row(static_cast<Eigen::Index>(a)).dot(sums.row(static_cast<Eigen::Index>(b)))) /
               (size[a] * size[b]);
    };
    auto refresh = [&](std::size_t a) {
        partner[a] = m;
        link[a] = -std::numeric_limits<double>::infinity();
        for (std::size_t b = 0; b < m; ++b) {
            if (b == a || !alive[b]) continue;
            const double v = avg_link(a, b);
            if (v > link[a]) link[a] = v, partner[a] = b;
        }
    };
    for (std::size_t a = 0; a < m; ++a) refresh(a);
    for (;;) {
        std::size_t a = m;
        for (std::size_t c = 0; c < m; ++c)
            if (alive[c] && partner[c] != m && (a == m || link[c] > link[a])) a = c;
        if (a == m || link[a] < merge_threshold) break;
        std::size_t b = partner[a];
        if (b < a) std::swap(a, b);  // keep the lower index
        sums.row(static_cast<Eigen::Index>(a)) += sums.row(static_cast<Eigen::Index>(b));
        size[a] += size[b];
        members[a].insert(members[a].end(), members[b].begin(), members[b].end());
        members[b].clear();
        alive[b] = 0;
        for (std::size_t c = 0; c < m; ++c) {
            if (!alive[c] || c == a) continue;
            if (partner[c] == a || partner[c] == b) {
                refresh(c);
            } else {
                const double v = avg_link(c, a);
                if (v > link[c] || (v == link[c] && a < partner[c])) link[c] = v, partner[c] = a;
            }
        }
        refresh(a);
    }

    std::vector<std::vector<std::size_t>> out;
    for (std::size_t c = 0; c < m; ++c) {
        if (!alive[c]) continue;
        std::sort(members[c].begin(), members[c].end());
        out.push_back(std::move(members[c]));
    }
    std::sort(out.begin(), out.end(), [](const auto& p, const auto& q) { return p.front() < q.front(); });
    return out;
}

}  // namespace detail
}  // namespace aitl
