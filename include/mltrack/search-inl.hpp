// Why: the bodies of search.hpp's functions, apart so that in compiled mode (detail/compiled.hpp) they are
// compiled once and a translation unit that does not call them instantiates nothing for them.
#pragma once

#include "search.hpp"

MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE std::string canonical_column(std::string_view key) {
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

MLTRACK_INLINE column_kind kind_of(std::string_view key) {
    if (key == "start") return column_kind::time;
    if (key == "duration") return column_kind::duration;
    if (key == "ranks" || key.rfind("param.", 0) == 0) return column_kind::param;
    if (key.rfind("metric.", 0) == 0) return column_kind::metric;
    return column_kind::text;
}
namespace detail {

MLTRACK_INLINE std::string_view trim_blanks(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

MLTRACK_INLINE const run_data& as_run(const run_data& r) {
    return r;
}

MLTRACK_INLINE const run_data& as_run(const run_summary& s) {
    return s.run;
}

MLTRACK_INLINE const double* last_point(const run_data& r, const std::string& key) {
    auto it = r.series.find(key);
    return it == r.series.end() || it->second.empty() ? nullptr : &it->second.back().value;
}

MLTRACK_INLINE const double* last_point(const run_summary& s, const std::string& key) {
    auto it = s.series.find(key);
    return it == s.series.end() || it->second.count == 0 ? nullptr : &it->second.last;
}
}  // namespace detail

MLTRACK_INLINE bool parse_number(std::string_view text, double& out) {
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

MLTRACK_INLINE std::vector<filter_condition> parse_filter(std::string_view expr) {
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

MLTRACK_INLINE run_order parse_order_by(std::string_view spec) {
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

MLTRACK_INLINE bool is_missing(const column_value& v) {
    return std::holds_alternative<std::monostate>(v);
}

MLTRACK_INLINE std::string exact_text(const column_value& v, column_kind kind) {
    if (auto s = std::get_if<std::string>(&v)) return *s;
    if (auto n = std::get_if<std::int64_t>(&v))
        return kind == column_kind::time ? detail::iso_utc(*n) : detail::shortest_double(static_cast<double>(*n) / 1e9);
    if (auto d = std::get_if<double>(&v)) return detail::shortest_double(*d);
    if (auto p = std::get_if<param_value>(&v)) return p->to_text();
    return {};
}

MLTRACK_INLINE bool numeric_value(const column_value& v, column_kind kind, double& out) {
    if (auto n = std::get_if<std::int64_t>(&v)) {
        out = kind == column_kind::duration ? static_cast<double>(*n) / 1e9 : static_cast<double>(*n);
        return true;
    }
    if (auto d = std::get_if<double>(&v)) return out = *d, true;
    if (auto p = std::get_if<param_value>(&v))
        if (p->is_int() || p->is_double()) return out = p->as_double(), true;
    return false;
}

MLTRACK_INLINE bool satisfies(const column_value& v, const filter_condition& c) {
    if (is_missing(v)) return false;
    const column_kind kind = kind_of(c.key);
    double a = 0, b = 0;
    if (kind != column_kind::time && numeric_value(v, kind, a) && parse_number(c.value, b))
        return detail::apply_op(c.op, a, b);
    return detail::apply_op(c.op, exact_text(v, kind), c.value);
}

MLTRACK_INLINE int compare_values(const column_value& x, const column_value& y, column_kind kind) {
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

MLTRACK_INLINE bool ordered_before(const column_value& x, const column_value& y, column_kind kind, bool descending) {
    auto last = [](const column_value& v) {
        const double* d = std::get_if<double>(&v);
        return is_missing(v) || (d && std::isnan(*d));
    };
    const bool lx = last(x), ly = last(y);
    if (lx || ly) return !lx && ly;
    const int r = compare_values(x, y, kind);
    return descending ? r > 0 : r < 0;
}

MLTRACK_INLINE std::vector<run_summary> search_runs(const std::filesystem::path& root, std::string_view filter,
                                            std::string_view order_by, const read_options& options) {
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
