// Why: picking the best run, or the runs of one sweep, is the first thing people do with a store, and
// `mltrack ls --filter/--sort` already had a syntax for it. search_runs(root, filter, order_by) gives C++
// code the same syntax (MLflow's search_runs, W&B's api.runs), and the command uses these same functions,
// so the two can never disagree.
//
// A filter is conditions joined by ',' (all must hold): KEY OP VALUE with OP one of = == != < <= > >=.
// KEY is a column of the experiment table: experiment, run, state, start, duration, ranks, param.KEY,
// metric.KEY (the latest summary value, else the last time-series value) or tag.KEY; MLflow's plural
// spellings params., metrics. and tags. are accepted too. Numbers compare as numbers when both sides are
// numbers, everything else as exact text (times as ISO 8601 UTC, so `start>=2024-01-01` works). A run
// without the column never matches. An order is KEY, -KEY, KEY ASC or KEY DESC; runs without the value
// (and NaN) come last in both directions, and equal runs keep their order (experiment, then run).
#pragma once

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "detail/compiled.hpp"
#include "detail/time_text.hpp"
#include "error.hpp"
#include "reader.hpp"
#include "record.hpp"
#include "store.hpp"
#include "summary.hpp"

MLTRACK_NAMESPACE_BEGIN

enum class compare_op { eq, ne, lt, le, gt, ge };

/// One condition of a filter: KEY OP VALUE, with KEY in its canonical spelling (param.lr, metric.acc).
struct filter_condition {
    std::string key;
    compare_op op = compare_op::eq;
    std::string value;
};

/// An order: a column, ascending unless `descending`.
struct run_order {
    std::string key;
    bool descending = false;
};

/// How a column's values compare and print.
enum class column_kind { text, time, duration, param, metric };

/// A value of a column for one run: missing, text, a time or duration in ns, a metric value or a param.
using column_value = std::variant<std::monostate, std::string, std::int64_t, double, param_value>;

/// The canonical spelling of a column key ("params.lr" -> "param.lr"), or "" when KEY is not a column.
MLTRACK_INLINE std::string canonical_column(std::string_view key);

/// The kind of a (canonical) column.
MLTRACK_INLINE column_kind kind_of(std::string_view key);

namespace detail {

MLTRACK_INLINE std::string_view trim_blanks(std::string_view s);

inline const char* const column_list =
    "experiment, run, state, start, duration, ranks, param.KEY, metric.KEY, tag.KEY";

template <class T>
bool apply_op(compare_op op, const T& a, const T& b) {
    switch (op) {
        case compare_op::eq: return a == b;
        case compare_op::ne: return !(a == b);
        case compare_op::lt: return a < b;
        case compare_op::le: return a < b || a == b;
        case compare_op::gt: return b < a;
        case compare_op::ge: return b < a || a == b;
    }
    return false;
}

MLTRACK_INLINE const run_data& as_run(const run_data& r);
MLTRACK_INLINE const run_data& as_run(const run_summary& s);

/// The last value of a time series, from the points or from the statistics.
MLTRACK_INLINE const double* last_point(const run_data& r, const std::string& key);
MLTRACK_INLINE const double* last_point(const run_summary& s, const std::string& key);

template <class T>
const T& deref(const T& x) { return x; }
template <class T>
const T& deref(const T* x) { return *x; }

}  // namespace detail

/// Parses a whole string as a number ("0.01", "1e-3", "-2", "NaN", "Infinity"); false for anything else.
MLTRACK_INLINE bool parse_number(std::string_view text, double& out);

/// Parses "param.lr>0.01, metric.acc>=0.9" into conditions ("" gives none). Conditions are joined by ','
/// or by the word AND (MLflow's spelling); a VALUE in matching quotes ('adam' or "adam") loses them. Throws
/// value.8 naming the bad part: an empty condition, no operator, an unknown operator, a key that is not a
/// column.
MLTRACK_INLINE std::vector<filter_condition> parse_filter(std::string_view expr);

/// Parses "metric.loss", "-metric.loss", "metric.loss ASC" or "metrics.loss DESC" ("" gives an empty key:
/// no order). Throws value.9 when the key is not a column or the direction is not ASC or DESC.
MLTRACK_INLINE run_order parse_order_by(std::string_view spec);

/// The value of column KEY (canonical) for a run, or monostate when the run has none.
template <class Run>
column_value run_column(const Run& source, std::string_view key) {
    const run_data& r = detail::as_run(source);
    if (key == "experiment") return r.experiment;
    if (key == "run") return r.name;
    if (key == "state") return std::string(to_string(r.state));
    if (key == "start") return r.start_time_ns;
    if (key == "duration") return r.end_time_ns != 0 ? column_value(r.end_time_ns - r.start_time_ns) : column_value();
    if (key == "ranks") return param_value(std::int64_t{r.world_size});
    if (key.rfind("param.", 0) == 0) {
        auto it = r.params.find(std::string(key.substr(6)));
        return it == r.params.end() ? column_value() : column_value(it->second);
    }
    if (key.rfind("metric.", 0) == 0) {
        const std::string k(key.substr(7));
        if (auto it = r.summary.find(k); it != r.summary.end()) return it->second;
        if (const double* last = detail::last_point(source, k)) return *last;
        return {};
    }
    if (key.rfind("tag.", 0) == 0) {
        auto it = r.tags.find(std::string(key.substr(4)));
        return it == r.tags.end() ? column_value() : column_value(it->second);
    }
    return {};
}

MLTRACK_INLINE bool is_missing(const column_value& v);

/// The exact text of a value: ISO times, durations in seconds, shortest round-trip numbers.
MLTRACK_INLINE std::string exact_text(const column_value& v, column_kind kind);

/// The number a value compares as, when it is one (metrics, numeric params, durations in s, times in ns).
MLTRACK_INLINE bool numeric_value(const column_value& v, column_kind kind, double& out);

/// True when a value satisfies a condition of its column. A missing value never does.
MLTRACK_INLINE bool satisfies(const column_value& v, const filter_condition& c);

/// True when a run (run_data or run_summary) satisfies every condition.
template <class Run>
bool matches(const Run& run, const std::vector<filter_condition>& conditions) {
    for (const auto& c : conditions)
        if (!satisfies(run_column(run, c.key), c)) return false;
    return true;
}

/// Orders two values of one column: <0, 0, >0. Missing after everything, NaN after numbers, numbers
/// before text.
MLTRACK_INLINE int compare_values(const column_value& x, const column_value& y, column_kind kind);

/// True when x comes before y in this order; missing values and NaN come last in both directions.
MLTRACK_INLINE bool ordered_before(const column_value& x, const column_value& y, column_kind kind, bool descending);

/// Sorts runs (run_data, run_summary, or pointers to them) by an order, stably. An empty key does nothing.
template <class Run>
void sort_runs(std::vector<Run>& runs, const run_order& order) {
    if (order.key.empty()) return;
    const column_kind kind = kind_of(order.key);
    std::stable_sort(runs.begin(), runs.end(), [&](const Run& a, const Run& b) {
        return ordered_before(run_column(detail::deref(a), order.key), run_column(detail::deref(b), order.key), kind,
                              order.descending);
    });
}

/// The runs under a JSONL root that match `filter`, ordered by `order_by` (else by experiment, then run),
/// read with read_summary(): each has the run's params, summary, tags, state and times in `run`, and the
/// statistics of each time series in `series` (read_run(s.run.dir) gives every point). Throws value.8 or
/// value.9 for a bad filter or order before reading anything, and what read_summary throws for a run
/// that cannot be read (with `options.strict = false` malformed lines are skipped instead).
MLTRACK_INLINE std::vector<run_summary> search_runs(const std::filesystem::path& root, std::string_view filter = {},
                                            std::string_view order_by = {}, const read_options& options = {});

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "search-inl.hpp"
#endif
