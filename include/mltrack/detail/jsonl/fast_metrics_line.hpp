// Why: nearly every line of a long run is a metrics line the JSONL sink wrote, in one fixed shape. Scanning
// that shape directly (no DOM, no allocation once warm) is what lets the readers keep up with the writer;
// any line the scanner does not recognize exactly goes through the general parse (fold_line.hpp), which
// gives the same values and errors.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "../../names.hpp"
#include "fold_line.hpp"

MLTRACK_NAMESPACE_BEGIN

namespace detail {

/// End of the JSON number at p (strict JSON grammar), or nullptr.
inline const char* json_number_end(const char* p, const char* e) noexcept {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (p < e && *p == '-') ++p;
    if (p >= e) return nullptr;
    if (*p == '0') {
        ++p;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && digit(*p)) ++p;
    } else {
        return nullptr;
    }
    if (p < e && *p == '.') {
        const char* d = ++p;
        while (p < e && digit(*p)) ++p;
        if (p == d) return nullptr;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p < e && (*p == '+' || *p == '-')) ++p;
        const char* d = p;
        while (p < e && digit(*p)) ++p;
        if (p == d) return nullptr;
    }
    return p;
}

/// Parses a finite JSON number as a double; false when it is not one (or out of range).
inline bool fast_double(const char*& p, const char* e, double& out) noexcept {
    const char* end = json_number_end(p, e);
    if (!end) return false;
    const auto r = std::from_chars(p, end, out);
    if (r.ec != std::errc() || r.ptr != end || !std::isfinite(out)) return false;
    // "-0" is an integer in JSON, and integers have no negative zero (nlohmann, Python): +0 as the general
    // path reads it. "-0.0" keeps its sign. (Found by the fast_metrics_line fuzz target.)
    if (out == 0 && std::signbit(out) && std::find_if(p, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end)
        out = 0.0;
    p = end;
    return true;
}

inline bool skip_literal(const char*& p, const char* e, std::string_view lit) noexcept {
    if (static_cast<std::size_t>(e - p) < lit.size() || std::memcmp(p, lit.data(), lit.size()) != 0) return false;
    p += lit.size();
    return true;
}

/// A metrics line exactly as the JSONL sink writes it:
/// {"kind":"metrics","time":T,"step":S,"values":{"k":V,...}} with plain keys (no escapes, valid UTF-8, no
/// control characters), finite numbers or "NaN"/"Infinity"/"-Infinity", no repeated key. Anything else
/// returns false and the caller takes the general path.
struct fast_metrics_line {
    std::int64_t time_ns = 0;
    std::int64_t step = 0;
    std::vector<std::pair<std::string_view, double>> values;

    bool parse(std::string_view line) {
        const char* p = line.data();
        const char* e = p + line.size();
        values.clear();
        if (!skip_literal(p, e, "{\"kind\":\"metrics\",\"time\":")) return false;
        double t = 0;
        if (!fast_double(p, e, t) || !seconds_to_ns(t, time_ns)) return false;  // as detail::parse_time
        if (!skip_literal(p, e, ",\"step\":")) return false;
        {
            const char* s = p;
            if (p < e && *p == '-') ++p;
            if (p >= e || *p < '0' || *p > '9' || (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9'))
                return false;
            while (p < e && *p >= '0' && *p <= '9') ++p;
            if (p < e && (*p == '.' || *p == 'e' || *p == 'E')) return false;
            const auto r = std::from_chars(s, p, step);
            if (r.ec != std::errc() || r.ptr != p) return false;
        }
        if (!skip_literal(p, e, ",\"values\":{")) return false;
        if (p < e && *p == '}') {
            ++p;
        } else {
            for (;;) {
                if (p >= e || *p != '"') return false;
                const char* k = ++p;
                while (p < e && *p != '"') {
                    const auto c = static_cast<unsigned char>(*p);
                    if (c < 0x20 || c == '\\' || c == 0x7f) return false;
                    if (c >= 0x80) {
                        const std::size_t n = utf8_sequence_length(line, static_cast<std::size_t>(p - line.data()));
                        if (n == 0) return false;
                        p += n;
                    } else {
                        ++p;
                    }
                }
                if (p >= e || p == k || static_cast<std::size_t>(p - k) > max_key_length) return false;
                const std::string_view key(k, static_cast<std::size_t>(p - k));
                ++p;
                if (p >= e || *p != ':') return false;
                ++p;
                double v = 0;
                if (p < e && *p == '"') {
                    if (skip_literal(p, e, "\"NaN\"")) v = std::numeric_limits<double>::quiet_NaN();
                    else if (skip_literal(p, e, "\"Infinity\"")) v = HUGE_VAL;
                    else if (skip_literal(p, e, "\"-Infinity\"")) v = -HUGE_VAL;
                    else return false;
                } else if (!fast_double(p, e, v)) {
                    return false;
                }
                if (values.size() < linear_check)
                    for (const auto& kv : values)
                        if (kv.first == key) return false;  // a repeated key: let nlohmann decide which wins
                values.emplace_back(key, v);
                if (p < e && *p == ',') {
                    ++p;
                    continue;
                }
                if (p < e && *p == '}') {
                    ++p;
                    break;
                }
                return false;
            }
        }
        if (p + 1 != e || *p != '}') return false;
        if (values.size() > linear_check) {  // many keys: one sort finds a repeat (no n^2 scan)
            keys.clear();
            for (const auto& kv : values) keys.push_back(kv.first);
            std::sort(keys.begin(), keys.end());
            if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) return false;
        }
        return true;
    }

private:
    static constexpr std::size_t linear_check = 32;
    std::vector<std::string_view> keys;
};

}  // namespace detail

MLTRACK_NAMESPACE_END
