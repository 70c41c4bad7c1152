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
inline std::string canonical_column(std::string_view key) {
    if (key == "experiment" || key == "run" || key == "state" || key == "start" || key == "duration" ||
        key == "ranks")
        return std::string(key);
    static const std::pair<std::string_view, std::string_view> prefixes[] = {
        {"params.", "param."}, {"param.", "param."}, {"metrics.", "metric."},
        {"metric.", "metric."}, {"tags.", "tag."},    {"tag.", "tag."}};
    for (const auto& p : prefixes)
        if (key.size() > p.first.size() && key.substr(0, p.first.size()) == p.first)
            return std::string(p.second) + std::string(key.substr(p.first.size()));
    return {};
}

/// The kind of a (canonical) column.
inline column_kind kind_of(std::string_view key) {
    if (key == "start") return column_kind::time;
    if (key == "duration") return column_kind::duration;
    if (key == "ranks" || key.rfind("param.", 0) == 0) return column_kind::param;
    if (key.rfind("metric.", 0) == 0) return column_kind::metric;
    return column_kind::text;
}

namespace detail {

inline std::string_view trim_blanks(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

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

inline const run_data& as_run(const run_data& r) { return r; }
inline const run_data& as_run(const run_summary& s) { return s.run; }

/// The last value of a time series, from the points or from the statistics.
inline const double* last_point(const run_data& r, const std::string& key) {
    auto it = r.series.find(key);
    return it == r.series.end() || it->second.empty() ? nullptr : &it->second.back().value;
}
inline const double* last_point(const run_summary& s, const std::string& key) {
    auto it = s.series.find(key);
    return it == s.series.end() || it->second.count == 0 ? nullptr : &it->second.last;
}

template <class T>
const T& deref(const T& x) { return x; }
template <class T>
const T& deref(const T* x) { return *x; }

}  // namespace detail

/// Parses a whole string as a number ("0.01", "1e-3", "-2", "NaN", "Infinity"); false for anything else.
inline bool parse_number(std::string_view text, double& out) {
    const std::string s(text);
    if (s.empty()) return false;
    if (s == "NaN") { out = std::nan(""); return true; }
    if (s == "Infinity" || s == "inf") { out = HUGE_VAL; return true; }
    if (s == "-Infinity" || s == "-inf") { out = -HUGE_VAL; return true; }
    char* end = nullptr;
    errno = 0;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() && errno == 0 && std::isfinite(out);
}

/// Parses "param.lr>0.01, metric.acc>=0.9" into conditions ("" gives none). Conditions are joined by ','
/// or by the word AND (MLflow's spelling); a VALUE in matching quotes ('adam' or "adam") loses them. Throws
/// value.8 naming the bad part: an empty condition, no operator, an unknown operator, a key that is not a
/// column.
inline std::vector<filter_condition> parse_filter(std::string_view expr) {
    std::vector<filter_condition> out;
    auto bad = [&](const std::string& what) {
        return error(error_category::value, 8, what + " in filter '" + detail::printable(expr) + "'");
    };
    // Split on ',' and on " AND " (any case, blanks around it).
    std::vector<std::string_view> parts;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= expr.size(); ++i) {
        std::size_t skip = 0;
        if (i == expr.size() || expr[i] == ',') {
            skip = 1;
        } else if ((expr[i] == ' ' || expr[i] == '\t') && i + 5 <= expr.size()) {
            const std::string_view w = expr.substr(i + 1, 3);
            const bool is_and = (w[0] == 'a' || w[0] == 'A') && (w[1] == 'n' || w[1] == 'N') && (w[2] == 'd' || w[2] == 'D');
            if (is_and && (expr[i + 4] == ' ' || expr[i + 4] == '\t')) skip = 5;
        }
        if (!skip) continue;
        parts.push_back(expr.substr(from, i - from));
        from = i + skip;
        i += skip - 1;
    }
    for (std::size_t n = 0; n < parts.size(); ++n) {
        const std::string_view part = detail::trim_blanks(parts[n]);
        if (part.empty()) {
            if (n + 1 == parts.size()) break;  // "" or a trailing ','
            throw bad("an empty condition");
        }
        const auto at = part.find_first_of("<>=!");
        if (at == std::string_view::npos || at == 0)
            throw bad("condition '" + detail::printable(part) + "' is not KEY OP VALUE (OP: = != < <= > >=)");
        filter_condition c;
        const std::string key(detail::trim_blanks(part.substr(0, at)));
        const char a = part[at];
        const char b = at + 1 < part.size() ? part[at + 1] : '\0';
        const std::size_t len = b == '=' ? 2 : 1;
        if (a == '=') c.op = compare_op::eq;
        else if (a == '!' && b == '=') c.op = compare_op::ne;
        else if (a == '<') c.op = b == '=' ? compare_op::le : compare_op::lt;
        else if (a == '>') c.op = b == '=' ? compare_op::ge : compare_op::gt;
        else throw bad("condition '" + detail::printable(part) + "' has an unknown operator");
        std::string_view value = detail::trim_blanks(part.substr(at + len));
        if (value.size() >= 2 && (value[0] == '\'' || value[0] == '"') && value.back() == value[0])
            value = value.substr(1, value.size() - 2);
        c.value = std::string(value);
        c.key = canonical_column(key);
        if (c.key.empty())
            throw bad("key '" + detail::printable(key) + "' is not a column (" + detail::column_list + ")");
        out.push_back(std::move(c));
    }
    return out;
}

/// Parses "metric.loss", "-metric.loss", "metric.loss ASC" or "metrics.loss DESC" ("" gives an empty key:
/// no order). Throws value.9 when the key is not a column or the direction is not ASC or DESC.
inline run_order parse_order_by(std::string_view spec) {
    run_order o;
    std::string_view s = detail::trim_blanks(spec);
    if (s.empty()) return o;
    auto bad = [&](const std::string& what) {
        return error(error_category::value, 9, what + " in order_by '" + detail::printable(spec) + "'");
    };
    const auto space = s.find_last_of(" \t");
    if (space != std::string_view::npos) {
        std::string dir(s.substr(space + 1));
        for (auto& ch : dir) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (dir != "ASC" && dir != "DESC") throw bad("'" + detail::printable(s.substr(space + 1)) + "' is not ASC or DESC");
        o.descending = dir == "DESC";
        s = detail::trim_blanks(s.substr(0, space));
    } else if (s[0] == '-' || s[0] == '+') {
        o.descending = s[0] == '-';
        s = s.substr(1);
    }
    o.key = canonical_column(s);
    if (o.key.empty()) throw bad("key '" + detail::printable(s) + "' is not a column (" + detail::column_list + ")");
    return o;
}

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

inline bool is_missing(const column_value& v) { return std::holds_alternative<std::monostate>(v); }

/// The exact text of a value: ISO times, durations in seconds, shortest round-trip numbers.
inline std::string exact_text(const column_value& v, column_kind kind) {
    if (auto s = std::get_if<std::string>(&v)) return *s;
    if (auto n = std::get_if<std::int64_t>(&v))
        return kind == column_kind::time ? detail::iso_utc(*n) : detail::shortest_double(static_cast<double>(*n) / 1e9);
    if (auto d = std::get_if<double>(&v)) return detail::shortest_double(*d);
    if (auto p = std::get_if<param_value>(&v)) return p->to_text();
    return {};
}

/// The number a value compares as, when it is one (metrics, numeric params, durations in s, times in ns).
inline bool numeric_value(const column_value& v, column_kind kind, double& out) {
    if (auto n = std::get_if<std::int64_t>(&v)) {
        out = kind == column_kind::duration ? static_cast<double>(*n) / 1e9 : static_cast<double>(*n);
        return true;
    }
    if (auto d = std::get_if<double>(&v)) return out = *d, true;
    if (auto p = std::get_if<param_value>(&v))
        if (p->is_int() || p->is_double()) return out = p->as_double(), true;
    return false;
}

/// True when a value satisfies a condition of its column. A missing value never does.
inline bool satisfies(const column_value& v, const filter_condition& c) {
    if (is_missing(v)) return false;
    const column_kind kind = kind_of(c.key);
    double a = 0, b = 0;
    if (kind != column_kind::time && numeric_value(v, kind, a) && parse_number(c.value, b))
        return detail::apply_op(c.op, a, b);
    return detail::apply_op(c.op, exact_text(v, kind), c.value);
}

/// True when a run (run_data or run_summary) satisfies every condition.
template <class Run>
bool matches(const Run& run, const std::vector<filter_condition>& conditions) {
    for (const auto& c : conditions)
        if (!satisfies(run_column(run, c.key), c)) return false;
    return true;
}

/// Orders two values of one column: <0, 0, >0. Missing after everything, NaN after numbers, numbers
/// before text.
inline int compare_values(const column_value& x, const column_value& y, column_kind kind) {
    const bool mx = is_missing(x), my = is_missing(y);
    if (mx || my) return mx == my ? 0 : (mx ? 1 : -1);
    if (auto a = std::get_if<std::int64_t>(&x))
        if (auto b = std::get_if<std::int64_t>(&y)) return *a < *b ? -1 : (*b < *a ? 1 : 0);
    double a = 0, b = 0;
    const bool na = numeric_value(x, kind, a), nb = numeric_value(y, kind, b);
    if (na && nb) {
        if (std::isnan(a) || std::isnan(b)) return std::isnan(a) == std::isnan(b) ? 0 : (std::isnan(a) ? 1 : -1);
        return a < b ? -1 : (b < a ? 1 : 0);
    }
    if (na != nb) return na ? -1 : 1;
    return exact_text(x, kind).compare(exact_text(y, kind));
}

/// True when x comes before y in this order; missing values and NaN come last in both directions.
inline bool ordered_before(const column_value& x, const column_value& y, column_kind kind, bool descending) {
    auto last = [](const column_value& v) {
        const double* d = std::get_if<double>(&v);
        return is_missing(v) || (d && std::isnan(*d));
    };
    const bool lx = last(x), ly = last(y);
    if (lx || ly) return !lx && ly;
    const int r = compare_values(x, y, kind);
    return descending ? r > 0 : r < 0;
}

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
inline std::vector<run_summary> search_runs(const std::filesystem::path& root, std::string_view filter = {},
                                            std::string_view order_by = {}, const read_options& options = {}) {
    const auto conditions = parse_filter(filter);
    const auto order = parse_order_by(order_by);
    std::vector<run_summary> out;
    for (const auto& e : list_experiments(root))
        for (const auto& r : list_runs(root, e)) {
            run_summary s = read_summary(root / e / r, options);
            if (matches(s, conditions)) out.push_back(std::move(s));
        }
    sort_runs(out, order);
    return out;
}

MLTRACK_NAMESPACE_END
