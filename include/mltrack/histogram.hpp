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

#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN

/// One histogram bucket as TensorBoard stores it: [left, right] edges and a count.
struct histogram_bucket {
    double left = 0.0;
    double right = 0.0;
    double count = 0.0;
};

/// Buckets `n` values the way TensorBoard's own `tf.summary.histogram` does: `bucket_count` equal-width
/// buckets from the minimum to the maximum (the maximum falls into the last one). When every value is the
/// same, each bucket is [v, v] and the last holds all of them; with no values, every field is 0.
/// NaN and infinite values are skipped (TensorBoard cannot draw them); bucket_count 0 means 1.
inline std::vector<histogram_bucket> tensorboard_histogram(const double* values, std::size_t n,
                                                           std::size_t bucket_count = 30) {
    if (bucket_count == 0) bucket_count = 1;
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
    double width = (hi - lo) / static_cast<double>(bucket_count);
    if (!std::isfinite(width)) width = hi / static_cast<double>(bucket_count) - lo / static_cast<double>(bucket_count);
    for (std::size_t i = 0; i < bucket_count; ++i) {
        out[i].left = lo + width * static_cast<double>(i);
        out[i].right = i + 1 == bucket_count ? hi : lo + width * static_cast<double>(i + 1);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) continue;
        double k = std::floor((values[i] - lo) / width);
        if (!(k >= 0)) k = 0;
        auto idx = k >= static_cast<double>(bucket_count) ? bucket_count - 1 : static_cast<std::size_t>(k);
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
