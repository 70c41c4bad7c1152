// Why: a histogram of values (weights, gradients, activations) at a step is a record of its own. The
// values are bucketed on the caller's thread, once, so every sink stores the same buckets; the bucketing
// is the one TensorBoard's own histogram summary uses.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "error.hpp"
#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN

/// One histogram bucket as TensorBoard stores it: [left, right] edges and a count.
struct histogram_bucket {
    double left = 0.0;
    double right = 0.0;
    double count = 0.0;
};

/// The most buckets one histogram may have (a TensorBoard histogram has 30 by default).
inline constexpr std::size_t max_histogram_buckets = 65536;

/// Buckets `n` values the way TensorBoard's own `tf.summary.histogram` does: `bucket_count` equal-width
/// buckets from the minimum to the maximum (the maximum falls into the last one). When every value is the
/// same, each bucket is [v, v] and the last holds all of them; with no values, every field is 0.
/// NaN and infinite values are skipped (TensorBoard cannot draw them); bucket_count 0 means 1, and more
/// than max_histogram_buckets throws value.11. Any finite values work, up to ±DBL_MAX.
inline std::vector<histogram_bucket> tensorboard_histogram(const double* values, std::size_t n,
                                                           std::size_t bucket_count = 30) {
    if (bucket_count == 0) bucket_count = 1;
    if (bucket_count > max_histogram_buckets)
        throw error(error_category::value, 11,
                    "histogram bucket_count " + std::to_string(bucket_count) + " is above the limit of " +
                        std::to_string(max_histogram_buckets));
    std::vector<histogram_bucket> out(bucket_count);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    std::size_t finite = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        lo = std::min(lo, values[i]);
        hi = std::max(hi, values[i]);
        ++finite;
    }
    if (finite == 0) return out;
    if (hi == lo) {
        // One distinct value: TensorBoard's single-value form.
        for (auto& b : out) b.left = b.right = lo;
        out.back().count = static_cast<double>(finite);
        return out;
    }
    // A range wider than DBL_MAX (from near -DBL_MAX to near DBL_MAX) is measured in halves.
    const double scale = std::isfinite(hi - lo) ? 1.0 : 0.5;
    const double k_count = static_cast<double>(bucket_count);
    const double width = (hi * scale - lo * scale) / k_count;  // in scaled units
    double edge = lo;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        out[i].left = edge;
        if (i + 1 == bucket_count) {
            edge = hi;
        } else {
            const double t = static_cast<double>(i + 1) / k_count;
            double e = lo + width / scale * static_cast<double>(i + 1);
            if (!std::isfinite(e)) e = lo * (1 - t) + hi * t;
            edge = std::min(hi, std::max(edge, e));  // edges never go back, never pass the maximum
        }
        out[i].right = edge;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        double k = std::floor((values[i] * scale - lo * scale) / width);
        if (!(k >= 0)) k = 0;
        auto idx = k >= k_count ? bucket_count - 1 : static_cast<std::size_t>(k);
        out[idx].count += 1.0;
    }
    return out;
}

inline std::vector<histogram_bucket> tensorboard_histogram(const std::vector<double>& values,
                                                           std::size_t bucket_count = 30) {
    return tensorboard_histogram(values.data(), values.size(), bucket_count);
}

inline std::vector<histogram_bucket> tensorboard_histogram(const std::vector<float>& values,
                                                           std::size_t bucket_count = 30) {
    std::vector<double> d(values.begin(), values.end());
    return tensorboard_histogram(d.data(), d.size(), bucket_count);
}

/// A histogram of one key at one step (the payload of record_kind::histogram).
struct histogram {
    std::string name;                       ///< a key, like metric keys ("layer1/weights")
    std::vector<histogram_bucket> buckets;  ///< [left, right] edges and counts, left to right
};

MLTRACK_NAMESPACE_END
