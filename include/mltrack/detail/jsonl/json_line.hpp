// Why: the JSONL sink writes millions of lines per second, so it formats them by hand into a reused buffer
// (std::to_chars gives the shortest round-trip double) instead of building a JSON DOM per record.
// Non-finite doubles are written as the strings "NaN", "Infinity", "-Infinity", as proto3 JSON does.
#pragma once

#include <charconv>
#include <cstring>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../names.hpp"
#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Appends `s` as a JSON string literal (with quotes). UTF-8 passes through; control characters are escaped;
/// each byte that is not part of a valid UTF-8 sequence becomes U+FFFD, so the line is always valid JSON.
inline void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the pending unescaped run
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != 0x7f) continue;
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s, i);
            if (n) {
                i += n - 1;
                continue;
            }
        }
        out.append(s.data() + run, i - run);
        run = i + 1;
        if (c >= 0x80) {
            out += "\\ufffd";
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

inline void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

inline void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

/// A metric value: the shortest round-trip form, or "NaN"/"Infinity"/"-Infinity" as strings.
inline void append_double(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += std::isnan(v) ? "\"NaN\"" : (v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    if (v == 0 && std::signbit(v)) {  // "-0" would read back as the integer 0
        out += "-0.0";
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

/// A double that must read back as a float, not an integer: "1.0" rather than "1" (used for params).
inline void append_float(std::string& out, double v) {
    const std::size_t at = out.size();
    append_double(out, v);
    if (!std::isfinite(v)) return;
    if (out.find_first_of(".eE", at) == std::string::npos) out += ".0";
}

/// Wall time in ns as seconds with microseconds, exactly: 1764384000.123456.
/// append_time into a buffer of at least 32 bytes; returns the end.
inline char* write_time(char* p, std::int64_t time_ns) noexcept {
    std::int64_t us = time_ns / 1000;
    if (time_ns < 0 && time_ns % 1000) --us;  // floor
    if (us < 0) *p++ = '-';
    std::int64_t sec = us / 1000000;
    std::int64_t frac = us % 1000000;
    if (sec < 0) sec = -sec;
    if (frac < 0) frac = -frac;
    p = std::to_chars(p, p + 24, sec).ptr;
    *p = '.';
    for (int i = 6; i >= 1; --i) {
        p[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
    }
    return p + 7;
}

/// append_double into a buffer of at least 32 bytes; returns the end.
inline char* write_double(char* p, double v) noexcept {
    auto copy = [&](const char* s, std::size_t n) {
        std::memcpy(p, s, n);
        return p + n;
    };
    if (!std::isfinite(v)) return std::isnan(v) ? copy("\"NaN\"", 5) : v > 0 ? copy("\"Infinity\"", 10) : copy("\"-Infinity\"", 11);
    if (v == 0 && std::signbit(v)) return copy("-0.0", 4);
    return std::to_chars(p, p + 32, v).ptr;
}

inline void append_time(std::string& out, std::int64_t time_ns) {
    std::int64_t us = time_ns / 1000;
    if (time_ns < 0 && time_ns % 1000) --us;  // floor
    if (us < 0) out += '-';                   // sign and magnitude: -1.5 s is "-1.500000"
    std::int64_t sec = us / 1000000;
    std::int64_t frac = us % 1000000;
    if (sec < 0) sec = -sec;
    if (frac < 0) frac = -frac;
    append_int(out, sec);
    char buf[8] = {'.', '0', '0', '0', '0', '0', '0', 0};
    for (int i = 6; i >= 1; --i) {
        buf[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
    }
    out.append(buf, 7);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
