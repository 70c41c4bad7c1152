// Why: `mltrack ls` over a thousand runs of ten thousand points has to take seconds, and read_run() keeps
// every record and every point. scan_run() reads a run's file once, in large blocks, keeps only the folded
// state (params, summary, state, times, artifacts...) and per-series statistics, and hands each metric
// point to a callback (so export and report stream too). The JSONL sink's own metrics lines, which are
// nearly all of a file, take a fast path: a scanner of their fixed shape. Every other line, and any metrics
// line the scanner does not recognize exactly, goes through the same nlohmann parse and fold as read_run(),
// so both readers agree on every value and on every error.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "reader.hpp"

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

/// A run as scan_run() folds it: `run` holds what read_run() gives except `records` and `series` (left
/// empty); `series` holds the statistics of each time series instead of its points.
struct run_summary {
    run_data run;
    std::map<std::string, series_stats, std::less<>> series;
    std::size_t lines = 0;   ///< lines read (including skipped ones)
    std::size_t points = 0;  ///< metric points read
    std::vector<run_summary> ranks;  ///< read_summary of a folder: the other ranks' files (rank_policy::every)
};

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
        if (!fast_double(p, e, t)) return false;
        time_ns = static_cast<std::int64_t>(std::llround(t * 1e6)) * 1000;  // as detail::parse_time
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
                if (p >= e || p == k) return false;
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
        return p + 1 == e && *p == '}';
    }
};

}  // namespace detail

/// Reads a run (its folder or its events.jsonl) in one streaming pass, calling
/// `on_point(std::string_view key, std::int64_t step, std::int64_t time_ns, double value)` for every metric
/// point in file order. Errors, torn tails and problems follow read_run() with the same options (strict:
/// the first malformed line throws format.1 naming file and line).
template <class OnPoint>
run_summary scan_run(const std::filesystem::path& path, const read_options& options, OnPoint&& on_point) {
    namespace fs = std::filesystem;
    run_summary out;
    run_data& run = out.run;
    std::error_code ec;
    const fs::path file = fs::is_directory(path, ec) ? path / "events.jsonl" : path;
    run.dir = file.parent_path();
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw error(error_category::io, 4, "cannot open " + file.string());
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};

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
    auto add_point = [&](std::string_view key, std::int64_t step, std::int64_t time_ns, double value) {
        stats_of(key).add(step, time_ns, value);
        ++out.points;
        on_point(key, step, time_ns, value);
    };

    detail::fast_metrics_line fast;
    bool first_seen = false;
    std::size_t line_no = 0;
    auto handle = [&](std::string_view text, bool complete, bool oversize) {
        ++line_no;
        const auto where = [&] { return file.string() + ":" + std::to_string(line_no) + ": "; };
        try {
            if (!complete) {  // no '\n': a write cut short, even when it parses (a resume cuts it too)
                run.torn_tail = read_problem{line_no, "torn last line (" + std::to_string(text.size()) +
                                                          " bytes) skipped"};
                return;
            }
            if (oversize || text.size() > options.max_line_bytes)
                throw error(error_category::format, 6,
                            where() + "line longer than " + std::to_string(options.max_line_bytes) + " bytes");
            if (line_no > 1 && first_seen && fast.parse(text)) {
                for (const auto& kv : fast.values) add_point(kv.first, fast.step, fast.time_ns, kv.second);
                return;
            }
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(text.begin(), text.end());
            } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
                throw detail::line_error{std::string("malformed JSON: ") + e.what()};
            }
            detail::fold_line(run, j, line_no);
            first_seen = true;
            // Points folded by the general path go through the same statistics and callback.
            if (!run.series.empty()) {
                for (auto& kv : run.series)
                    for (const auto& p : kv.second) add_point(kv.first, p.step, p.time_ns, p.value);
                run.series.clear();
            }
            run.records.clear();
        } catch (const detail::line_error& e) {
            if (options.strict || line_no == 1)
                throw error(error_category::format, line_no == 1 ? 2 : 1, where() + e.message);
            run.problems.push_back(read_problem{line_no, e.message});
        } catch (const error& e) {
            if (options.strict || line_no == 1) throw;
            run.problems.push_back(read_problem{line_no, e.what()});
        }
    };

    std::vector<char> buf(1u << 20);
    std::string pending;  // a line cut by a block boundary
    bool too_long = false;
    for (;;) {
        const ssize_t got = ::read(fd, buf.data(), buf.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw error(error_category::io, 4, "cannot read " + file.string() + ": " + std::strerror(errno));
        if (got == 0) break;
        const char* p = buf.data();
        const char* e = p + got;
        while (p < e) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
            if (!nl) {
                if (!too_long) pending.append(p, static_cast<std::size_t>(e - p));
                if (pending.size() > options.max_line_bytes) {
                    too_long = true;
                    pending.clear();
                }
                break;
            }
            if (too_long) {
                handle({}, true, true);  // reported as too long; its bytes were not kept
                too_long = false;
            } else if (!pending.empty()) {
                pending.append(p, static_cast<std::size_t>(nl - p));
                handle(pending, true, false);
                pending.clear();
            } else {
                handle(std::string_view(p, static_cast<std::size_t>(nl - p)), true, false);
            }
            p = nl + 1;
        }
    }
    if (too_long) handle({}, false, true);
    else if (!pending.empty()) handle(pending, false, false);
    out.lines = line_no;
    if (!first_seen) throw error(error_category::format, 3, file.string() + ": no run_start line (empty run file)");
    return out;
}

/// scan_run() without a point callback: the folded run and the statistics of each series. Given a run
/// folder logged by every rank (rank_policy::every), `ranks` holds the summaries of ranks 1, 2...
inline run_summary read_summary(const std::filesystem::path& path, const read_options& options = {}) {
    auto none = [](std::string_view, std::int64_t, std::int64_t, double) {};
    run_summary s = scan_run(path, options, none);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        for (const auto& f : rank_files(path))
            if (f.first > 0) s.ranks.push_back(scan_run(f.second, options, none));
    return s;
}

MLTRACK_NAMESPACE_END
