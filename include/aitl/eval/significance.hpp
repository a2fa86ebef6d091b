#pragma once
/// @file eval/significance.hpp
/// @brief Paired significance tests of two systems scored on the same queries (champion vs
/// challenger): the paired randomisation (sign-flip) test, the paired percentile bootstrap, and
/// the exact binomial sign test for preference win/loss counts.
///
/// Definitions (d_i = challenger_i - base_i, n queries, m of them with d_i != 0):
///  - permutation: under H0 each d_i is as likely to have the other sign. Statistic
///    |sum d_i|; two-sided p = share of sign patterns whose |sum| is >= the observed one. Exact
///    (all 2^m patterns; zero differences do not change the sum) when m <= exact_max, otherwise
///    Monte Carlo with `rounds` random patterns, p = (1 + hits) / (rounds + 1), never 0.
///    CI: mean(d) +- z * sd(d) / sqrt(n) (normal approximation; z of `confidence`).
///  - bootstrap: `rounds` resamples of the n queries with replacement; CI = the percentiles
///    (1 - confidence) / 2 and (1 + confidence) / 2 of the resampled mean differences (linear
///    interpolation, numpy's default); p = (1 + #{|mean* - mean| >= |mean|}) / (rounds + 1),
///    the resamples shifted to the null.
///  - sign_test: P(X <= min(w, l)) * 2 capped at 1, X ~ Binomial(w + l, 1/2); 1 when w + l = 0.
/// Ties within 1e-10 * sum |d_i| of the observed statistic count as "as extreme". Results
/// depend only on the inputs and the seed (own xoshiro256** generator: the same numbers on
/// every platform).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"

namespace aitl {

/**
 * @brief Settings of paired_test().
 *
 * @code
 * aitl::significance_config cfg;
 * cfg.method = "bootstrap"; cfg.rounds = 2000; cfg.seed = 7;
 * @endcode
 */
struct significance_config {
    std::string method = "permutation";  ///< "permutation" (sign-flip) or "bootstrap"
    std::size_t rounds = 10000;          ///< random sign patterns or resamples, in [1, 10^8]
    std::uint64_t seed = 0;              ///< the same seed gives the same result
    double confidence = 0.95;            ///< level of the interval, in (0, 1)
    std::size_t exact_max = 16;          ///< permutation: enumerate all patterns when m <= this (<= 24)
};

/// @throws config_error on an unknown method, rounds outside [1, 10^8], confidence outside
/// (0, 1) or exact_max > 24.
inline void validate(const significance_config& c, const char* where = "significance_config") {
    if (c.method != "permutation" && c.method != "bootstrap")
        throw config_error(std::string(where) + ": unknown method (got '" + c.method +
                           "', expected 'permutation' or 'bootstrap')");
    if (c.rounds < 1 || c.rounds > 100000000)
        throw config_error(std::string(where) + ": rounds out of range (got " + std::to_string(c.rounds) +
                           ", expected 1 <= rounds <= 100000000)");
    if (!(c.confidence > 0.0 && c.confidence < 1.0))
        throw config_error(std::string(where) + ": confidence out of range (got " + std::to_string(c.confidence) +
                           ", expected 0 < confidence < 1)");
    if (c.exact_max > 24)
        throw config_error(std::string(where) + ": exact_max out of range (got " + std::to_string(c.exact_max) +
                           ", expected <= 24)");
}

inline void to_json(nlohmann::json& j, const significance_config& c) {
    j = nlohmann::json{{"method", c.method},
                       {"rounds", c.rounds},
                       {"seed", c.seed},
                       {"confidence", c.confidence},
                       {"exact_max", c.exact_max}};
}

/// @brief Reads the JSON form; missing keys keep their defaults. @throws config_error
inline void from_json(const nlohmann::json& j, significance_config& c) {
    const char* t = "significance_config";
    detail::config_check_keys(j, t, {"method", "rounds", "seed", "confidence", "exact_max"});
    significance_config out;
    detail::config_read_key(j, t, "method", out.method);
    detail::config_read_key(j, t, "rounds", out.rounds);
    detail::config_read_key(j, t, "seed", out.seed);
    detail::config_read_key(j, t, "confidence", out.confidence);
    detail::config_read_key(j, t, "exact_max", out.exact_max);
    validate(out, "significance_config::from_json");
    c = std::move(out);
}

/// @brief The outcome of a paired test (diff = challenger - base).
struct paired_result {
    double mean_base = 0;        ///< mean score of the base (champion)
    double mean_challenger = 0;  ///< mean score of the challenger
    double mean_diff = 0;        ///< mean of the per-query differences
    double ci_low = 0;           ///< lower end of the interval of mean_diff
    double ci_high = 0;          ///< upper end
    double p_value = 1;          ///< two-sided, in (0, 1]
    std::size_t n = 0;           ///< queries
    std::size_t ties = 0;        ///< queries with equal scores
    std::string method;          ///< "permutation" or "bootstrap"
    bool exact = false;          ///< p from full enumeration (permutation with m <= exact_max)
    std::size_t rounds = 0;      ///< random rounds used (0 when exact)
    double confidence = 0.95;    ///< level of [ci_low, ci_high]
};

inline void to_json(nlohmann::json& j, const paired_result& r) {
    j = nlohmann::json{{"mean_base", r.mean_base},   {"mean_challenger", r.mean_challenger},
                       {"mean_diff", r.mean_diff},   {"ci_low", r.ci_low},
                       {"ci_high", r.ci_high},       {"p_value", r.p_value},
                       {"n", r.n},                   {"ties", r.ties},
                       {"method", r.method},         {"exact", r.exact},
                       {"rounds", r.rounds},         {"confidence", r.confidence}};
}

inline void from_json(const nlohmann::json& j, paired_result& r) {
    const char* t = "paired_result";
    detail::config_check_keys(j, t, {"mean_base", "mean_challenger", "mean_diff", "ci_low", "ci_high", "p_value",
                                     "n", "ties", "method", "exact", "rounds", "confidence"});
    paired_result out;
    detail::config_read_key(j, t, "mean_base", out.mean_base);
    detail::config_read_key(j, t, "mean_challenger", out.mean_challenger);
    detail::config_read_key(j, t, "mean_diff", out.mean_diff);
    detail::config_read_key(j, t, "ci_low", out.ci_low);
    detail::config_read_key(j, t, "ci_high", out.ci_high);
    detail::config_read_key(j, t, "p_value", out.p_value);
    detail::config_read_key(j, t, "n", out.n);
    detail::config_read_key(j, t, "ties", out.ties);
    detail::config_read_key(j, t, "method", out.method);
    detail::config_read_key(j, t, "exact", out.exact);
    detail::config_read_key(j, t, "rounds", out.rounds);
    detail::config_read_key(j, t, "confidence", out.confidence);
    r = std::move(out);
}

namespace detail {

// xoshiro256** seeded by splitmix64: fixed output on every platform.
class sig_rng {
public:
    explicit sig_rng(std::uint64_t seed) {
        for (auto& s : s_) {
            seed += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            s = z ^ (z >> 31);
        }
    }
    std::uint64_t operator()() noexcept {
        const std::uint64_t r = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return r;
    }
    // Uniform in [0, n), n < 2^32 (Lemire's multiply-shift; bias < n / 2^32, negligible here).
    std::uint32_t below(std::uint32_t n) noexcept {
        return static_cast<std::uint32_t>(((operator()() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
inline double normal_quantile(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01,  -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double lo = 0.02425;
    if (p < lo) {
        const double q = std::sqrt(-2 * std::log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - lo) return -normal_quantile(1 - p);
    const double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// numpy.percentile(v, q * 100) with linear interpolation; v sorted, not empty.
inline double sorted_percentile(const std::vector<double>& v, double q) {
    const double pos = q * static_cast<double>(v.size() - 1);
    const std::size_t i = static_cast<std::size_t>(std::floor(pos));
    if (i + 1 >= v.size()) return v.back();
    const double f = pos - static_cast<double>(i);
    return v[i] + (v[i + 1] - v[i]) * f;
}

// Two-sided sign-flip p-value of the non-zero differences `d` (sum |d| = abs_sum).
inline double sign_flip_p(const std::vector<double>& d, double abs_sum, const significance_config& c,
                          bool& exact, std::size_t& rounds_used) {
    const std::size_t m = d.size();
    if (m == 0) {
        exact = true;
        rounds_used = 0;
        return 1.0;
    }
    double obs = 0;
    for (double x : d) obs += x;
    const double thr = std::fabs(obs) - 1e-10 * abs_sum;
    if (m <= c.exact_max) {
        // Gray-code walk over all 2^m sign patterns, one flip per step.
        exact = true;
        rounds_used = 0;
        const std::uint64_t total = std::uint64_t{1} << m;
        double s = obs;  // pattern 0: all signs kept
        std::vector<double> sign(m, 1.0);
        std::uint64_t hits = std::fabs(s) >= thr ? 1 : 0;
        for (std::uint64_t g = 1; g < total; ++g) {
            std::size_t bit = 0;
            while (!((g >> bit) & 1u)) ++bit;
            s -= 2 * sign[bit] * d[bit];
            sign[bit] = -sign[bit];
            if (std::fabs(s) >= thr) ++hits;
        }
        return static_cast<double>(hits) / static_cast<double>(total);
    }
    exact = false;
    rounds_used = c.rounds;
    // Groups of 8 differences with a table of the 256 signed sums of each group: one lookup
    // per random byte instead of 8 signed additions.
    const std::size_t groups = (m + 7) / 8;
    std::vector<double> table(groups * 256);
    for (std::size_t g = 0; g < groups; ++g) {
        double* t = &table[g * 256];
        const std::size_t lo = g * 8, hi = std::min(m, lo + 8);
        double all_minus = 0;
        for (std::size_t i = lo; i < hi; ++i) all_minus -= d[i];
        t[0] = all_minus;
        for (std::size_t pat = 1; pat < 256; ++pat) {
            std::size_t bit = 0;
            while (!((pat >> bit) & 1u)) ++bit;
            // pat = pat without its lowest bit, plus that bit: flip d[lo + bit] to +
            t[pat] = t[pat & (pat - 1)] + (lo + bit < hi ? 2 * d[lo + bit] : 0.0);
        }
    }
    sig_rng rng(c.seed);
    std::uint64_t hits = 0;
    for (std::size_t r = 0; r < c.rounds; ++r) {
        double s0 = 0, s1 = 0;  // two accumulators: shorter dependency chains
        std::size_t g = 0;
        while (g < groups) {
            std::uint64_t w = rng();
            const std::size_t end = std::min(groups, g + 8);
            for (; g + 1 < end; g += 2, w >>= 16) {
                s0 += table[g * 256 + (w & 0xFFu)];
                s1 += table[(g + 1) * 256 + ((w >> 8) & 0xFFu)];
            }
            if (g < end) {
                s0 += table[g * 256 + (w & 0xFFu)];
                ++g;
            }
        }
        if (std::fabs(s0 + s1) >= thr) ++hits;
    }
    return static_cast<double>(hits + 1) / static_cast<double>(c.rounds + 1);
}

}  // namespace detail

/**
 * @brief Paired test of challenger vs base over the same queries (query i of both vectors is
 * the same query): means, the interval of the mean difference and a two-sided p-value.
 *
 * See the file comment for the definitions. Empty input gives n = 0, every mean 0, p = 1.
 *
 * @param base        per-query scores of the base (champion), finite
 * @param challenger  per-query scores of the challenger, same length
 * @param config      method, rounds, seed, confidence (validated)
 * @returns the paired_result; the same inputs and seed give the same result
 * @throws dimension_error when the lengths differ or a score is NaN or infinite
 * @throws config_error when the config is invalid
 * @note Thread safety: a pure function.
 *
 * @code
 * aitl::paired_result r = aitl::paired_test(champion_recall, challenger_recall, {});
 * if (r.p_value < 0.05 && r.mean_diff > 0) { ... }
 * @endcode
 */
inline paired_result paired_test(const std::vector<double>& base, const std::vector<double>& challenger,
                                 const significance_config& config = {}) {
    validate(config, "paired_test");
    if (base.size() != challenger.size())
        throw dimension_error("paired_test: score vectors differ in length (got " + std::to_string(base.size()) +
                              " base and " + std::to_string(challenger.size()) +
                              " challenger scores, expected the same queries in both)");
    const std::size_t n = base.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(base[i]) || !std::isfinite(challenger[i]))
            throw dimension_error("paired_test: score not finite (got " +
                                  std::to_string(std::isfinite(base[i]) ? challenger[i] : base[i]) + " at query " +
                                  std::to_string(i) + " of the " +
                                  (std::isfinite(base[i]) ? "challenger" : "base") + ", expected a finite number)");
    }
    paired_result r;
    r.method = config.method;
    r.confidence = config.confidence;
    r.n = n;
    if (n == 0) {
        r.exact = config.method == "permutation";
        return r;
    }
    std::vector<double> diff(n), nonzero;
    nonzero.reserve(n);
    double sb = 0, sc = 0, sd = 0, abs_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sb += base[i];
        sc += challenger[i];
        diff[i] = challenger[i] - base[i];
        sd += diff[i];
        abs_sum += std::fabs(diff[i]);
        if (diff[i] == 0.0) ++r.ties;
        else nonzero.push_back(diff[i]);
    }
    const double nn = static_cast<double>(n);
    r.mean_base = sb / nn;
    r.mean_challenger = sc / nn;
    r.mean_diff = sd / nn;
    const double tail = (1.0 - config.confidence) / 2.0;
    if (config.method == "permutation") {
        r.p_value = detail::sign_flip_p(nonzero, abs_sum, config, r.exact, r.rounds);
        double ss = 0;
        for (double x : diff) ss += (x - r.mean_diff) * (x - r.mean_diff);
        const double se = n > 1 ? std::sqrt(ss / (nn - 1) / nn) : 0.0;
        const double z = detail::normal_quantile(1.0 - tail);
        r.ci_low = r.mean_diff - z * se;
        r.ci_high = r.mean_diff + z * se;
        return r;
    }
    // bootstrap
    r.rounds = config.rounds;
    detail::sig_rng rng(config.seed);
    std::vector<double> means(config.rounds);
    const auto n32 = static_cast<std::uint32_t>(std::min<std::size_t>(n, 0xFFFFFFFFu));
    for (std::size_t b = 0; b < config.rounds; ++b) {
        double s0 = 0, s1 = 0;
        std::size_t i = 0;
        for (; i + 1 < n; i += 2) {
            const std::uint64_t w = rng();  // two 32-bit halves, each mapped to [0, n)
            s0 += diff[static_cast<std::size_t>(((w >> 32) * n32) >> 32)];
            s1 += diff[static_cast<std::size_t>(((w & 0xFFFFFFFFu) * n32) >> 32)];
        }
        if (i < n) s0 += diff[rng.below(n32)];
        means[b] = (s0 + s1) / nn;
    }
    const double thr = std::fabs(r.mean_diff) - 1e-10 * abs_sum / nn;
    std::size_t hits = 0;
    for (double m : means) hits += std::fabs(m - r.mean_diff) >= thr ? 1 : 0;
    r.p_value = static_cast<double>(hits + 1) / static_cast<double>(config.rounds + 1);
    std::sort(means.begin(), means.end());
    r.ci_low = detail::sorted_percentile(means, tail);
    r.ci_high = detail::sorted_percentile(means, 1.0 - tail);
    return r;
}

/**
 * @brief Exact two-sided binomial sign test of win/loss counts (ties left out by the caller),
 * e.g. "the challenger's reply preferred in 60 of 100 decided pairs".
 * @returns min(1, 2 * P(X <= min(wins, losses))), X ~ Binomial(wins + losses, 1/2); 1 when both are 0
 * @note Thread safety: a pure function.
 * @code
 * double p = aitl::sign_test(60, 40);  // 0.0569
 * @endcode
 */
inline double sign_test(std::size_t wins, std::size_t losses) {
    const std::size_t n = wins + losses;
    if (n == 0) return 1.0;
    const std::size_t k = std::min(wins, losses);
    if (2 * k == n) return 1.0;
    // log C(n, i) - n log 2 for i = 0..k, summed relative to the largest (the last) term
    const double nd = static_cast<double>(n);
    auto log_term = [&](std::size_t i) {
        const double id = static_cast<double>(i);
        return std::lgamma(nd + 1) - std::lgamma(id + 1) - std::lgamma(nd - id + 1) - nd * std::log(2.0);
    };
    const double top = log_term(k);
    double sum = 0;
    double lt = top;
    // walk down from k: term(i - 1) = term(i) * i / (n - i + 1)
    for (std::size_t i = k + 1; i-- > 0;) {
        sum += std::exp(lt - top);
        if (i == 0) break;
        lt += std::log(static_cast<double>(i)) - std::log(nd - static_cast<double>(i) + 1);
        if (lt - top < -745) break;  // the rest underflow
    }
    const double p = 2.0 * std::exp(top + std::log(sum));
    return std::min(1.0, p);
}

}  // namespace aitl
