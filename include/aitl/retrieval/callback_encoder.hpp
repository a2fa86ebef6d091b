#pragma once
/// @file callback_encoder.hpp
/// @brief An encoder that calls any function (e.g. a sentence-transformers model reached
/// from Python), checking the shape and values of what it returns.

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"

namespace aitl {

/**
 * @brief Encoder (see concepts.hpp) backed by a user function.
 *
 * encode() calls the function and checks its result: `texts.size()` rows, `dim()` columns
 * (else dimension_error with both shapes) and finite values (else dimension_error naming the
 * row, column and value).
 *
 * @note Thread safety: encode() is const and holds no state of its own; it is as
 *       thread-safe as the function (which may be called from several threads at once).
 *
 * @code
 * aitl::callback_encoder enc(3, [](const std::vector<std::string>& texts) {
 *     return aitl::row_matrix::Ones(static_cast<Eigen::Index>(texts.size()), 3);
 * });
 * aitl::row_matrix v = enc.encode({"hello", "world"});  // 2 x 3
 * @endcode
 */
class callback_encoder {
public:
    /// @brief The function's type: texts in, one row of dim() floats per text out.
    using function_type = std::function<row_matrix(const std::vector<std::string>&)>;

    /// @throws config_error when dim == 0 or `fn` is empty.
    callback_encoder(std::size_t dim, function_type fn) : dim_(dim), fn_(std::move(fn)) {
        if (dim_ == 0) throw config_error("callback_encoder::callback_encoder: dim must be positive (got 0, expected >= 1)");
        if (!fn_) throw config_error("callback_encoder::callback_encoder: empty function (got none, expected a callable)");
    }

    /// @returns The output dimension.
    std::size_t dim() const noexcept { return dim_; }

    /**
     * @brief Encodes `texts` (one row each); an empty list gives a 0 x dim() matrix without
     * calling the function.
     * @throws dimension_error when the function returns the wrong shape or NaN/inf; whatever
     *         the function throws.
     */
    row_matrix encode(const std::vector<std::string>& texts) const {
        if (texts.empty()) return row_matrix(0, static_cast<Eigen::Index>(dim_));
        row_matrix out = fn_(texts);
        check(out, texts.size());
        return out;
    }

    /// @brief Checks a result the way encode() does (for wrappers that call the function themselves).
    void check(const row_matrix& out, std::size_t texts) const {
        if (static_cast<std::size_t>(out.rows()) != texts || static_cast<std::size_t>(out.cols()) != dim_)
            throw dimension_error("callback_encoder::encode: the function returned the wrong shape (got " +
                                  std::to_string(out.rows()) + " x " + std::to_string(out.cols()) + ", expected " +
                                  std::to_string(texts) + " x " + std::to_string(dim_) + ")");
        for (Eigen::Index i = 0; i < out.rows(); ++i) {
            const std::size_t j = detail::first_non_finite(out.row(i).data(), dim_);
            if (j != dim_)
                throw dimension_error("callback_encoder::encode: row " + std::to_string(i) +
                                      " holds NaN or inf (got " + std::to_string(out(i, static_cast<Eigen::Index>(j))) +
                                      " at column " + std::to_string(j) + ", expected finite values)");
        }
    }

private:
    std::size_t dim_;
    function_type fn_;
};

}  // namespace aitl
