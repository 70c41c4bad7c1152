// Why: a report answers "which run is best?" at a glance, so each chart marks its best run and the runs
// table opens sorted by one metric. Both need a direction, which the report reads from the metric's name
// (a loss goes down, an accuracy up), and a default metric, which prefers what runs logged as their
// summary (the number a run is judged by) over the last point of a curve.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <mltrack/summary.hpp>


namespace mltrack_cli {

/// True when a smaller value of the metric `key` is better. The key is cut into words at every character
/// that is not a letter or digit ("train/val_loss" -> train, val, loss), lower-cased; lower is better when
/// a word contains "loss" or "error", or is one of: err, mse, mae, rmse, mape, nll, perplexity, ppl, wer,
/// cer, latency, duration, time, seconds, cost, regret, divergence, kl. Otherwise higher is better.
inline bool lower_is_better(std::string_view key) {
    static const char* const words[] = {"err",  "mse",     "mae",  "rmse",    "mape", "nll",
                                        "perplexity", "ppl", "wer", "cer",  "latency", "duration",
                                        "time", "seconds", "cost", "regret", "divergence", "kl"};
    std::string word;
    auto decide = [&] {
        if (word.find("loss") != std::string::npos || word.find("error") != std::string::npos) return true;
        for (const char* w : words)
            if (word == w) return true;
        return false;
    };
    for (std::size_t i = 0; i <= key.size(); ++i) {
        const unsigned char c = i < key.size() ? static_cast<unsigned char>(key[i]) : 0;
        if (std::isalnum(c)) {
            word += static_cast<char>(std::tolower(c));
            continue;
        }
        if (!word.empty() && decide()) return true;
        word.clear();
    }
    return false;
}

/// True when a is better than b for the metric (NaN is never better).
inline bool better(double a, double b, bool lower) { return lower ? a < b : a > b; }

/// The index of the best of `values` (NaN and infinite values skipped: a run that diverged is not the best;
/// ties: the first), or -1.
inline int best_index(const std::vector<double>& values, bool lower) {
    int best = -1;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        if (best < 0 || better(values[i], values[static_cast<std::size_t>(best)], lower)) best = static_cast<int>(i);
    }
    return best;
}

/// The key most of `keys` repeat (ties: alphabetical), or "". Sorts `keys`: a sorted vector is several
/// times faster than a tree when runs hold a million keys.
inline std::string most_common(std::vector<std::string_view>& keys) {
    std::sort(keys.begin(), keys.end());
    std::string_view best;
    std::size_t n = 0;
    for (std::size_t i = 0; i < keys.size();) {
        std::size_t j = i;
        while (j < keys.size() && keys[j] == keys[i]) ++j;
        if (j - i > n) best = keys[i], n = j - i;
        i = j;
    }
    return std::string(best);
}

/// The report's default metric: the summary metric most runs logged (ties: alphabetical); when no run
/// logged a summary metric, the time series most runs have.
inline std::string default_metric(const std::vector<const mltrack::run_summary*>& runs) {
    std::vector<std::string_view> summary, series;  // views into the runs' maps
    for (const auto* s : runs) {
        for (const auto& kv : s->run.summary) summary.push_back(kv.first);
        for (const auto& kv : s->series) series.push_back(kv.first);
    }
    return summary.empty() ? most_common(series) : most_common(summary);
}

/// The distinct keys of `keys`, sorted (views, as given).
inline std::vector<std::string_view> distinct_sorted(std::vector<std::string_view> keys) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

}  // namespace mltrack_cli
