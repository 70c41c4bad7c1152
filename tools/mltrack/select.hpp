// Why: comparing runs means narrowing and ordering the experiment table. `--filter` takes conditions
// joined by ',' (all must hold): KEY OP VALUE with OP one of = == != < <= > >=, e.g. `param.lr>0.01`,
// `metric.acc>=0.9`, `state=COMPLETE`. Numbers compare as numbers when both sides are numbers, everything
// else as exact text (times as ISO 8601, so `start>=2024-01-01` works). A run without the column never
// matches. `--sort KEY` orders by a column, `-KEY` descending; missing cells always come last.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "cli.hpp"
#include "experiment_table.hpp"

namespace mltrack_cli {

enum class compare_op { eq, ne, lt, le, gt, ge };

struct condition {
    std::string key;
    compare_op op = compare_op::eq;
    std::string value;
};

inline bool is_column_key(const std::string& key) {
    return key == "experiment" || key == "run" || key == "state" || key == "start" || key == "duration" ||
           (key.rfind("param.", 0) == 0 && key.size() > 6) || (key.rfind("metric.", 0) == 0 && key.size() > 7);
}

inline std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

/// Parses "k1>1,k2=x" into conditions; throws usage_error naming the bad part.
inline std::vector<condition> parse_filter(const std::string& expr) {
    std::vector<condition> out;
    std::size_t start = 0;
    while (start <= expr.size()) {
        auto comma = expr.find(',', start);
        if (comma == std::string::npos) comma = expr.size();
        const std::string part = trim(expr.substr(start, comma - start));
        start = comma + 1;
        if (part.empty()) {
            if (comma == expr.size()) break;
            throw usage_error("empty condition in filter '" + expr + "'");
        }
        const auto at = part.find_first_of("<>=!");
        if (at == std::string::npos || at == 0)
            throw usage_error("filter condition '" + part + "' is not KEY OP VALUE (OP: = != < <= > >=)");
        condition c;
        c.key = trim(part.substr(0, at));
        std::size_t len = 1;
        const char a = part[at];
        const char b = at + 1 < part.size() ? part[at + 1] : '\0';
        if (a == '=' ) { c.op = compare_op::eq; len = b == '=' ? 2 : 1; }
        else if (a == '!' && b == '=') { c.op = compare_op::ne; len = 2; }
        else if (a == '<') { c.op = b == '=' ? compare_op::le : compare_op::lt; len = b == '=' ? 2 : 1; }
        else if (a == '>') { c.op = b == '=' ? compare_op::ge : compare_op::gt; len = b == '=' ? 2 : 1; }
        else throw usage_error("filter condition '" + part + "' has an unknown operator");
        c.value = trim(part.substr(at + len));
        if (!is_column_key(c.key))
            throw usage_error("filter key '" + c.key +
                              "' is not a column (experiment, run, state, start, duration, param.KEY, metric.KEY)");
        out.push_back(std::move(c));
    }
    return out;
}

/// Parses a whole string as a number ("0.01", "1e-3", "-2"); false for anything else.
inline bool parse_number(const std::string& s, double& out) {
    if (s.empty()) return false;
    if (s == "NaN") { out = std::nan(""); return true; }
    if (s == "Infinity" || s == "inf") { out = HUGE_VAL; return true; }
    if (s == "-Infinity" || s == "-inf") { out = -HUGE_VAL; return true; }
    char* end = nullptr;
    errno = 0;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() && errno == 0 && std::isfinite(out);
}

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

/// True when the row satisfies every condition. Unknown columns make the condition false.
inline bool row_matches(const experiment_table& t, const std::vector<cell>& row, const std::vector<condition>& cs) {
    for (const auto& c : cs) {
        const int col = t.find(c.key);
        if (col < 0 || is_missing(row[static_cast<std::size_t>(col)])) return false;
        const cell& x = row[static_cast<std::size_t>(col)];
        const auto role = t.columns[static_cast<std::size_t>(col)].role;
        double a = 0, b = 0;
        const bool numeric = role != column_role::time && numeric_value(x, role, a) && parse_number(c.value, b);
        if (numeric) {
            if (!apply_op(c.op, a, b)) return false;
        } else if (!apply_op(c.op, exact_text(x, role), c.value)) {
            return false;
        }
    }
    return true;
}

/// Keeps the rows that match; returns the keys of conditions no run has a column for (for a warning).
inline std::vector<std::string> apply_filter(experiment_table& t, const std::vector<condition>& cs) {
    std::vector<std::string> unknown;
    for (const auto& c : cs)
        if (t.find(c.key) < 0 && std::find(unknown.begin(), unknown.end(), c.key) == unknown.end())
            unknown.push_back(c.key);
    std::vector<std::vector<cell>> kept;
    for (auto& row : t.rows)
        if (row_matches(t, row, cs)) kept.push_back(std::move(row));
    t.rows = std::move(kept);
    return unknown;
}

/// Orders two cells of one column: <0, 0, >0. Missing sorts after everything, NaN after numbers.
inline int compare_cells(const cell& x, const cell& y, column_role role) {
    const bool mx = is_missing(x), my = is_missing(y);
    if (mx || my) return mx == my ? 0 : (mx ? 1 : -1);
    if (auto a = std::get_if<std::int64_t>(&x))
        if (auto b = std::get_if<std::int64_t>(&y)) return *a < *b ? -1 : (*b < *a ? 1 : 0);
    double a = 0, b = 0;
    const bool na = numeric_value(x, role, a), nb = numeric_value(y, role, b);
    if (na && nb) {
        if (std::isnan(a) || std::isnan(b)) return std::isnan(a) == std::isnan(b) ? 0 : (std::isnan(a) ? 1 : -1);
        return a < b ? -1 : (b < a ? 1 : 0);
    }
    if (na != nb) return na ? -1 : 1;  // numbers before text
    return exact_text(x, role).compare(exact_text(y, role));
}

/// Sorts rows by KEY (ascending) or -KEY (descending), stable; missing cells and NaN last either way.
inline void sort_rows(experiment_table& t, const std::string& spec) {
    const bool desc = !spec.empty() && spec[0] == '-';
    const std::string key = desc ? spec.substr(1) : (!spec.empty() && spec[0] == '+' ? spec.substr(1) : spec);
    const int col = t.find(key);
    if (col < 0) {
        std::string all;
        for (const auto& n : t.names()) all += (all.empty() ? "" : ", ") + n;
        throw usage_error("cannot sort by '" + key + "': no such column (columns: " + all + ")");
    }
    const auto c = static_cast<std::size_t>(col);
    const auto role = t.columns[c].role;
    std::stable_sort(t.rows.begin(), t.rows.end(), [&](const std::vector<cell>& a, const std::vector<cell>& b) {
        auto last = [](const cell& x) {  // missing and NaN go last in both directions
            const double* d = std::get_if<double>(&x);
            return is_missing(x) || (d && std::isnan(*d));
        };
        const bool ma = last(a[c]), mb = last(b[c]);
        if (ma || mb) return !ma && mb;
        const int r = compare_cells(a[c], b[c], role);
        return desc ? r > 0 : r < 0;
    });
}

}  // namespace mltrack_cli
