// Why: `mltrack ls` over a thousand runs of ten thousand points has to take seconds, and read_run() keeps
// every record and every point. scan_run() streams a run once (stream_run: large blocks, the metrics lines'
// fast path), keeps only the folded state (params, summary, state, times, artifacts...) and per-series
// statistics, and hands each metric point to a callback (so export and report stream too). It shares
// every line rule with read_run(), so both readers agree on every value and on every error.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/compiled.hpp"
#include "reader.hpp"
#include "record_stream.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Statistics of one time series, in file order. min and max skip NaN (they are NaN when every value is).
struct series_stats {
    std::size_t count = 0;
    std::int64_t first_step = 0;
    std::int64_t last_step = 0;
    std::int64_t first_time_ns = 0;
    std::int64_t last_time_ns = 0;
    double first = 0.0;
    double last = 0.0;
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();

    void add(std::int64_t step, std::int64_t time_ns, double value) noexcept {
        if (count == 0) {
            first_step = step;
            first_time_ns = time_ns;
            first = value;
        }
        ++count;
        last_step = step;
        last_time_ns = time_ns;
        last = value;
        if (!std::isnan(value)) {
            if (std::isnan(min) || value < min) min = value;
            if (std::isnan(max) || value > max) max = value;
        }
    }
};

/// A run as scan_run() folds it: `run` holds what read_run() gives except `records`, `series` and
/// `histograms` (left empty); `series` holds the statistics of each time series instead of its points.
struct run_summary {
    run_data run;
    std::map<std::string, series_stats, std::less<>> series;
    std::size_t lines = 0;   ///< lines read (including skipped ones)
    std::size_t points = 0;  ///< metric points read
    std::vector<run_summary> ranks;  ///< read_summary of a folder: the other ranks' files (rank_policy::every)
};

/// Reads a run (its folder or its events.jsonl, rank 0's) in one streaming pass (stream_run), calling
/// `on_point(std::string_view key, std::int64_t step, std::int64_t time_ns, double value)` for every metric
/// point in file order. Errors, torn tails and problems follow read_run() with the same options (strict:
/// the first malformed line throws format.1 naming file and line).
template <class OnPoint>
run_summary scan_run(const std::filesystem::path& path, const read_options& options, OnPoint&& on_point) {
    run_summary out;
    // A small cache of the last series looked up, so the map is searched only when the key changes.
    struct cached {
        std::string_view key;
        series_stats* stats;
    };
    cached cache[4] = {};
    std::size_t cache_next = 0;
    auto stats_of = [&](std::string_view key) -> series_stats& {
        for (auto& c : cache)
            if (c.stats && c.key == key) return *c.stats;
        auto it = out.series.find(key);
        if (it == out.series.end()) it = out.series.emplace(std::string(key), series_stats{}).first;
        cache[cache_next++ % 4] = cached{it->first, &it->second};
        return it->second;
    };
    std::vector<classification_metrics> classifications;
    out.run = stream_run(path, options, [&](const record& r, const run_data&, std::size_t) {
        if (r.kind == record_kind::metric) {
            for (const auto& kv : r.get_values()) {
                stats_of(kv.first).add(r.step, r.time_ns, kv.second);
                ++out.points;
                on_point(std::string_view(kv.first), r.step, r.time_ns, kv.second);
            }
        } else if (r.kind == record_kind::classification) {
            classifications.push_back(r.get_classification());
        }
    });
    out.run.classifications = std::move(classifications);
    out.lines = out.run.lines;
    return out;
}

/// scan_run() without a point callback: the folded run and the statistics of each series. Given a run
/// folder logged by every rank (rank_policy::every), `ranks` holds the summaries of ranks 1, 2...
MLTRACK_INLINE run_summary read_summary(const std::filesystem::path& path, const read_options& options = {});

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "summary-inl.hpp"
#endif
