#pragma once
/// @file retrieval/hashed_encoder.hpp
/// @brief A trainable text encoder that needs no weights: hashed word and character n-grams
/// projected to a dense vector by a (trainable) matrix.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../text/analyzer.hpp"
#include "../text/ngram.hpp"
#include "../types.hpp"

namespace aitl {

/**
 * @brief Settings of `hashed_encoder`.
 *
 * The analyzer lower-cases and drops stop words but does not stem: character n-grams
 * already capture morphology.
 */
struct hashed_encoder_config {
    std::size_t dim = 256;              ///< output dimension, 1..buckets
    std::uint32_t buckets = 1u << 15;   ///< hashed feature space (rows of the projection)
    std::size_t word_ngram_max = 2;     ///< word n-grams of order 1..max (0: none)
    std::size_t char_ngram_min = 3;     ///< character n-grams of min..max code points
    std::size_t char_ngram_max = 5;     ///< (0: none)
    std::uint64_t seed = 0;             ///< hashing and initial projection
    analyzer_config analyzer{true, true, false, "english"};

    /// @returns The n-gram settings these fields describe.
    ngram_config ngrams() const { return {word_ngram_max, char_ngram_min, char_ngram_max, buckets, seed}; }
};

/// @throws config_error for dim 0 or > buckets, or an invalid n-gram setting.
inline void validate(const hashed_encoder_config& c, const char* where = "hashed_encoder_config") {
    validate(c.ngrams(), where);
    if (c.dim == 0 || c.dim > c.buckets || c.dim > 65536)
        throw config_error(std::string(where) + ": dim out of range (got " + std::to_string(c.dim) +
                           ", expected 1..min(buckets, 65536) with buckets = " + std::to_string(c.buckets) + ")");
}

inline void to_json(nlohmann::json& j, const hashed_encoder_config& c) {
    j = nlohmann::json{{"dim", c.dim},
                       {"buckets", c.buckets},
                       {"word_ngram_max", c.word_ngram_max},
                       {"char_ngram_min", c.char_ngram_min},
                       {"char_ngram_max", c.char_ngram_max},
                       {"seed", c.seed},
                       {"analyzer", c.analyzer}};
}

inline void from_json(const nlohmann::json& j, hashed_encoder_config& c) {
    const char* t = "hashed_encoder_config";
    detail::config_check_keys(j, t, {"dim", "buckets", "word_ngram_max", "char_ngram_min", "char_ngram_max", "seed", "analyzer"});
    detail::config_read_key(j, t, "dim", c.dim);
    detail::config_read_key(j, t, "buckets", c.buckets);
    detail::config_read_key(j, t, "word_ngram_max", c.word_ngram_max);
    detail::config_read_key(j, t, "char_ngram_min", c.char_ngram_min);
    detail::config_read_key(j, t, "char_ngram_max", c.char_ngram_max);
    detail::config_read_key(j, t, "seed", c.seed);
    if (j.contains("analyzer")) from_json(j.at("analyzer"), c.analyzer);
}

namespace detail {

// Standard normal variates from mt19937_64 by Box-Muller: the same numbers on every platform
// (std::normal_distribution's algorithm is implementation-defined).
class seeded_normal {
public:
    explicit seeded_normal(std::uint64_t seed) : rng_(seed) {}
    double operator()() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1;
        do {
            u1 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
        } while (u1 <= 0.0);
        const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double a = 6.283185307179586476925 * u2;
        spare_ = r * std::sin(a);
        has_spare_ = true;
        return r * std::cos(a);
    }

private:
    std::mt19937_64 rng_;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

// rows x cols matrix with orthonormal columns: Gaussian, then one Cholesky-QR pass in double
// (a tall Gaussian matrix is well conditioned, so one pass is orthonormal to ~1e-15).
inline row_matrix random_orthonormal_columns(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    seeded_normal normal(seed);
    Eigen::MatrixXd a(rows, cols);
    for (Eigen::Index i = 0; i < rows; ++i)
        for (Eigen::Index j = 0; j < cols; ++j) a(i, j) = normal();
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(cols, cols);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
    Eigen::LLT<Eigen::MatrixXd> llt(gram.selfadjointView<Eigen::Lower>());
    llt.matrixU().template solveInPlace<Eigen::OnTheRight>(a);  // a <- a U^-1
    return a.cast<float>();
}

}  // namespace detail

/**
 * @brief Text → unit vector: analyse, hash word and character n-grams into `buckets`
 * signed counts (sub-linear: 1 + log count), L2-normalise, multiply by the `buckets × dim`
 * projection, L2-normalise again.
 *
 * The projection starts as a random matrix with orthonormal columns (deterministic for the
 * seed, on every platform), so the encoder is a random-projection bag of n-grams before any
 * training; the flywheel trains it later through `projection()` / `set_projection()`.
 * An empty text (or one made only of stop words) encodes to a zero row.
 * @note Thread safety: `encode` is const and may run concurrently; changing the projection
 * needs exclusive access.
 * @code
 * aitl::hashed_encoder enc;                        // 256 dims, 2^15 buckets
 * aitl::row_matrix v = enc.encode({"free parking?", "is breakfast included"});
 * float cosine = v.row(0).dot(v.row(1));
 * @endcode
 */
class hashed_encoder {
public:
    /// @throws config_error for invalid settings (see `validate`).
    explicit hashed_encoder(hashed_encoder_config config = {})
        : config_(checked(std::move(config))),
          text_(config_.analyzer),
          projection_(detail::random_orthonormal_columns(config_.buckets, static_cast<Eigen::Index>(config_.dim),
                                                         config_.seed ^ 0x5eed5eed5eed5eedull)) {}

    const hashed_encoder_config& config() const noexcept { return config_; }
    std::size_t dim() const noexcept { return config_.dim; }

    /// @returns The L2-normalised sparse n-gram features of `text` (before projection).
    sparse_vector features(std::string_view text) const {
        sparse_vector f = hashed_ngrams(text_.tokens(text), ngrams_);
        double norm = 0.0;
        for (auto& x : f) {
            x.value = std::copysign(1.0f + std::log(std::fabs(x.value)), x.value);
            norm += static_cast<double>(x.value) * x.value;
        }
        if (norm > 0.0) {
            const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
            for (auto& x : f) x.value *= inv;
        }
        return f;
    }

    /// @returns One L2-normalised row of `dim()` floats per text (zero rows for empty texts).
    row_matrix encode(const std::vector<std::string>& texts) const {
        row_matrix out = row_matrix::Zero(static_cast<Eigen::Index>(texts.size()), static_cast<Eigen::Index>(config_.dim));
        for (std::size_t i = 0; i < texts.size(); ++i) {
            auto row = out.row(static_cast<Eigen::Index>(i));
            for (const auto& x : features(texts[i])) row += x.value * projection_.row(x.index);
            const float n = row.norm();
            if (n > 0.0f && std::isfinite(n)) row /= n;
        }
        return out;
    }

    /// @returns The `buckets × dim` projection.
    const row_matrix& projection() const noexcept { return projection_; }
    /// @returns The projection, for in-place training (keep it finite).
    row_matrix& projection() noexcept { return projection_; }

    /// @brief Replaces the projection.
    /// @throws dimension_error for a shape other than `buckets × dim` or a non-finite value.
    void set_projection(row_matrix p) {
        if (p.rows() != static_cast<Eigen::Index>(config_.buckets) || p.cols() != static_cast<Eigen::Index>(config_.dim))
            throw dimension_error("hashed_encoder::set_projection: wrong shape (got " + std::to_string(p.rows()) + "x" +
                                  std::to_string(p.cols()) + ", expected " + std::to_string(config_.buckets) + "x" +
                                  std::to_string(config_.dim) + ")");
        if (!p.allFinite())
            throw dimension_error("hashed_encoder::set_projection: non-finite value (got NaN or inf, expected finite)");
        projection_ = std::move(p);
    }

    /// @brief Writes config and projection to one binary file ("AITLHENC", version 1).
    /// @throws io_error when the file cannot be written.
    void save(const std::string& path) const {
        std::ofstream out(path, std::ios::binary);
        if (!out) throw io_error("hashed_encoder::save: cannot open for writing (got '" + path + "')");
        const std::string header = nlohmann::json(config_).dump();
        const std::uint64_t size = header.size();
        out.write("AITLHENC", 8);
        const std::uint32_t version = 1;
        out.write(reinterpret_cast<const char*>(&version), 4);
        out.write(reinterpret_cast<const char*>(&size), 8);
        out.write(header.data(), static_cast<std::streamsize>(size));
        out.write(reinterpret_cast<const char*>(projection_.data()),
                  static_cast<std::streamsize>(sizeof(float) * static_cast<std::size_t>(projection_.size())));
        out.close();
        if (!out) throw io_error("hashed_encoder::save: write failed (got '" + path + "')");
    }

    /// @brief Reads a file written by `save`.
    /// @throws io_error when unreadable; parse_error for a corrupt file.
    static hashed_encoder load(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw io_error("hashed_encoder::load: cannot open (got '" + path + "')");
        char magic[8] = {};
        std::uint32_t version = 0;
        std::uint64_t size = 0;
        in.read(magic, 8);
        in.read(reinterpret_cast<char*>(&version), 4);
        in.read(reinterpret_cast<char*>(&size), 8);
        if (!in || std::memcmp(magic, "AITLHENC", 8) != 0 || version != 1 || size > (1u << 20))
            throw parse_error(path, 0, "header", "not an aitl hashed encoder file (expected AITLHENC version 1)");
        std::string header(size, '\0');
        in.read(&header[0], static_cast<std::streamsize>(size));
        if (!in) throw parse_error(path, 0, "config", "truncated header (expected the encoder config)");
        nlohmann::json j = detail::parse_json(header, path, 0, "hashed_encoder::load", "config");
        hashed_encoder_config c = j.get<hashed_encoder_config>();
        validate(c, "hashed_encoder::load");
        // The header's sizes are checked against the bytes left before anything is allocated
        // (a forged header asked for 4 GiB; found by fuzzing).
        const auto at = in.tellg();
        in.seekg(0, std::ios::end);
        const auto left = static_cast<std::uint64_t>(in.tellg() - at);
        in.seekg(at);
        const std::uint64_t need = sizeof(float) * static_cast<std::uint64_t>(c.buckets) * c.dim;
        if (need != left)
            throw parse_error(path, 0, "projection",
                              "size does not match the header (got " + std::to_string(left) + " bytes, expected buckets x dim x 4 = " +
                                  std::to_string(c.buckets) + " x " + std::to_string(c.dim) + " x 4)");
        row_matrix p(static_cast<Eigen::Index>(c.buckets), static_cast<Eigen::Index>(c.dim));
        in.read(reinterpret_cast<char*>(p.data()), static_cast<std::streamsize>(sizeof(float) * static_cast<std::size_t>(p.size())));
        if (!in) throw parse_error(path, 0, "projection", "truncated (expected buckets x dim floats)");
        hashed_encoder enc(c, std::move(p));
        return enc;
    }

private:
    hashed_encoder(hashed_encoder_config c, row_matrix p) : config_(checked(std::move(c))), text_(config_.analyzer) {
        set_projection(std::move(p));
    }

    static hashed_encoder_config checked(hashed_encoder_config c) {
        validate(c, "hashed_encoder::hashed_encoder");
        return c;
    }

    hashed_encoder_config config_;
    analyzer text_;
    ngram_config ngrams_ = config_.ngrams();
    row_matrix projection_;
};

}  // namespace aitl
