// Why: numbers, times and durations appear in every command, in two styles: compact for people (tables,
// `show`) and exact for programs (CSV, JSON). One header spells both so every command agrees.
// Times are UTC; non-finite metric values are "NaN", "Infinity" and "-Infinity", as in the JSONL format.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <mltrack/detail/time_text.hpp>
#include <mltrack/record.hpp>

namespace mltrack_cli {

/// The exact form of a double: shortest text that reads back to the same value.
inline std::string exact_number(double v) { return mltrack::detail::shortest_double(v); }

/// The compact form of a double for people: 6 significant digits.
inline std::string short_number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// A metric value as JSON: a number, or "NaN"/"Infinity"/"-Infinity" as strings.
inline nlohmann::ordered_json json_number(double v) {
    if (std::isfinite(v)) return v;
    return exact_number(v);
}

/// A param as JSON, keeping its type.
inline nlohmann::ordered_json json_param(const mltrack::param_value& p) {
    if (p.is_int()) return p.as_int();
    if (p.is_bool()) return p.as_bool();
    if (p.is_string()) return p.as_string();
    return p.as_double();
}

/// A param as people read it: compact floats, the rest as to_text().
inline std::string short_param(const mltrack::param_value& p) {
    return p.is_double() ? short_number(p.as_double()) : p.to_text();
}

/// ISO 8601 UTC with microseconds: "2023-11-14T22:13:20.001000Z" (exact, for CSV and JSON).
inline std::string iso_time(std::int64_t time_ns) { return mltrack::detail::iso_utc(time_ns); }

/// UTC to the second, for tables: "2023-11-14 22:13:20".
inline std::string short_time(std::int64_t time_ns) {
    std::tm tm{};
    std::int64_t micros = 0;
    if (!mltrack::detail::utc_parts(time_ns, tm, micros)) return {};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

/// Unix time in seconds with microseconds, as the JSONL format writes it: "1700000000.001000".
inline std::string unix_seconds(std::int64_t time_ns) {
    std::int64_t us = time_ns / 1000;
    if (time_ns < 0 && time_ns % 1000) --us;
    std::string out = us < 0 ? "-" : "";
    const std::int64_t mag = us < 0 ? -us : us;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(mag / 1000000),
                  static_cast<long long>(mag % 1000000));
    return out + buf;
}

/// A duration for people: "0.029s", "12.500s", "3m05s", "2h03m41s".
inline std::string short_duration(std::int64_t ns) {
    char buf[48];
    if (ns < 0) return "-" + short_duration(-ns);
    const double s = static_cast<double>(ns) / 1e9;
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%.3fs", s);
        return buf;
    }
    const auto total = static_cast<long long>(s);
    if (total < 3600) {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", total / 3600, (total / 60) % 60, total % 60);
    return buf;
}

/// A duration in seconds, exact to the nanosecond where a double allows (CSV and JSON).
inline double duration_seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

/// A count or rate for progress lines: "950", "12.3k", "4.1M", "2.0G".
inline std::string human_count(double v) {
    char buf[32];
    if (!(v >= 0) || v < 1000) std::snprintf(buf, sizeof buf, "%.0f", v > 0 ? v : 0.0);
    else if (v < 1e6) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    else if (v < 1e9) std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
    else std::snprintf(buf, sizeof buf, "%.1fG", v / 1e9);
    return buf;
}

/// Display width of UTF-8 text (code points; good enough for table alignment).
inline std::size_t display_width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;
    return n;
}

/// Text safe for a terminal or a single table cell: control characters (C0, DEL, and the C1 controls
/// U+0080..U+009F, which some terminals obey as escapes) become spaces.
inline std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
            out += ' ';
            ++i;
        } else {
            out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace mltrack_cli
