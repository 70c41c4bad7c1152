// Why: every command takes a path that may be a JSONL root (<root>/<experiment>/<run>/events.jsonl), one
// experiment folder, one run folder or one events.jsonl file. This header finds the runs under any of those,
// in a stable order (experiment, then run name, both in natural order: run-2 before run-10), and reads
// many runs in parallel.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <mltrack/names.hpp>
#include <mltrack/summary.hpp>

#include "cli.hpp"
#include "suggest.hpp"

namespace mltrack_cli {

namespace fs = std::filesystem;

/// A run found on disk: its folder and the names its folders give.
struct run_ref {
    fs::path dir;
    std::string experiment;
    std::string run;
};

namespace detail {
inline bool has_events(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "events.jsonl", ec);
}

/// Natural order: digit runs compare as numbers, so "run-2" comes before "run-10".
inline bool natural_less(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            std::size_t i2 = i, j2 = j;
            while (i2 < a.size() && a[i2] == '0') ++i2;  // leading zeros do not count
            while (j2 < b.size() && b[j2] == '0') ++j2;
            std::size_t ie = i2, je = j2;
            while (ie < a.size() && digit(a[ie])) ++ie;
            while (je < b.size() && digit(b[je])) ++je;
            if (ie - i2 != je - j2) return ie - i2 < je - j2;
            const int c = a.compare(i2, ie - i2, b, j2, je - j2);
            if (c != 0) return c < 0;
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
    return a < b;  // equal up to leading zeros: keep a total order
}

inline std::vector<fs::path> sorted_subdirs(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code ec2;
        if (it->is_directory(ec2) && mltrack::is_valid_name(it->path().filename().string())) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end(), [](const fs::path& x, const fs::path& y) {
        return natural_less(x.filename().string(), y.filename().string());
    });
    return out;
}
}  // namespace detail

/// What kind of path was given.
enum class path_kind { run_file, run_dir, experiment_dir, root };

inline path_kind classify(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw command_error(path.string() + ": no such file or folder");
    if (fs::is_regular_file(path, ec)) return path_kind::run_file;
    if (detail::has_events(path)) return path_kind::run_dir;
    for (const auto& d : detail::sorted_subdirs(path))
        if (detail::has_events(d)) return path_kind::experiment_dir;
    return path_kind::root;
}

/// The runs under `path`, sorted by experiment and run (natural order). `experiments`, when not empty,
/// keeps only those.
inline std::vector<run_ref> find_runs(const fs::path& path, const std::vector<std::string>& experiments = {}) {
    std::vector<run_ref> out;
    auto wanted = [&](const std::string& e) {
        return experiments.empty() || std::find(experiments.begin(), experiments.end(), e) != experiments.end();
    };
    auto add_experiment = [&](const fs::path& dir) {
        const std::string e = dir.filename().string();
        if (!wanted(e)) return;
        for (const auto& r : detail::sorted_subdirs(dir))
            if (detail::has_events(r)) out.push_back(run_ref{r, e, r.filename().string()});
    };
    switch (classify(path)) {
        case path_kind::run_file: {
            const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
            out.push_back(run_ref{dir, fs::absolute(dir).parent_path().filename().string(),
                                  fs::absolute(dir).filename().string()});
            break;
        }
        case path_kind::run_dir: {
            const fs::path abs = fs::absolute(path).lexically_normal();
            const fs::path named = abs.filename().empty() ? abs.parent_path() : abs;
            out.push_back(run_ref{path, named.parent_path().filename().string(), named.filename().string()});
            break;
        }
        case path_kind::experiment_dir:
            add_experiment(path);
            break;
        case path_kind::root:
            for (const auto& e : detail::sorted_subdirs(path)) add_experiment(e);
            break;
    }
    return out;
}

/// Where commands look when no ROOT is given: ./mlruns, as MLflow does.
inline const char* const default_root = "mlruns";

/// The ROOT of a command: its one positional argument, or ./mlruns when none is given.
inline fs::path root_argument(const std::vector<std::string>& positional, const char* command) {
    if (positional.size() > 1)
        throw usage_error(std::string(command) + " takes one ROOT (got " + std::to_string(positional.size()) + ")");
    if (!positional.empty()) return positional[0];
    std::error_code ec;
    if (!fs::is_directory(default_root, ec))
        throw command_error(std::string("no ROOT given and no ./") + default_root + " folder here (mltrack " +
                            command + " ROOT)");
    return default_root;
}

/// A folder right under `path` that holds runs (runs/ or mlruns/ first), or "" when there is none.
inline std::string runs_below(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return {};
    std::string first;
    for (const auto& d : detail::sorted_subdirs(path)) {
        if (find_runs(d).empty()) continue;
        const std::string name = d.filename().string();
        if (name == "runs" || name == "mlruns") return d.string();
        if (first.empty()) first = d.string();
    }
    return first;
}

/// find_runs() for a command, with help for typos: a root without runs but with a runs/ folder below it
/// is an error that names that folder; an experiment of `experiments` that is not under `path` is a
/// warning with the closest name, and an error when no run is left. A path without any run is a
/// warning (the command then has nothing to do).
inline std::vector<run_ref> select_runs(const char* command, const fs::path& path,
                                        const std::vector<std::string>& experiments) {
    auto all = find_runs(path);
    if (all.empty()) {
        const std::string below = runs_below(path);
        if (!below.empty()) throw command_error("no runs under " + path.string() + "; did you mean " + below + "?");
        std::fprintf(stderr, "mltrack %s: no runs under %s\n", command, path.string().c_str());
        return all;
    }
    if (experiments.empty()) return all;
    std::vector<std::string> names;
    for (const auto& r : all)
        if (std::find(names.begin(), names.end(), r.experiment) == names.end()) names.push_back(r.experiment);
    for (const auto& e : experiments)
        if (std::find(names.begin(), names.end(), e) == names.end())
            std::fprintf(stderr, "mltrack %s: no experiment '%s' under %s%s\n", command, e.c_str(),
                         path.string().c_str(), did_you_mean(e, names).c_str());
    std::vector<run_ref> out;
    for (auto& r : all)
        if (std::find(experiments.begin(), experiments.end(), r.experiment) != experiments.end())
            out.push_back(std::move(r));
    if (out.empty()) throw command_error("no run matched --experiment");
    return out;
}

/// Calls f(i) for i in [0, n) on up to `threads` threads (hardware concurrency by default); f must be
/// safe to call concurrently for different i and must not throw.
template <class F>
void parallel_for(std::size_t n, F&& f, unsigned threads = 0) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, n));
    if (threads <= 1) {
        for (std::size_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < n;) f(i);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
}

/// An mltrack::error message with its stable id moved to the end, so it starts with "file:line: ...".
inline std::string describe(const std::exception& e) {
    std::string m = e.what();
    if (m.rfind("[mltrack.error.", 0) == 0) {
        const auto close = m.find("] ");
        if (close != std::string::npos) m = m.substr(close + 2) + " (" + m.substr(1, close - 1) + ")";
    }
    return m;
}

/// What reading many runs gave: a summary per run (empty when the run could not be read at all) and
/// the messages to print on stderr.
struct loaded_runs {
    std::vector<run_ref> refs;
    std::vector<std::optional<mltrack::run_summary>> summaries;
    std::vector<std::string> errors;    ///< runs that could not be read (skipped)
    std::vector<std::string> warnings;  ///< lines skipped in runs that were read
};

/// Reads the summary of every run, in parallel, leniently (a malformed line is skipped with a warning).
/// `on_point`, when given, is called for every point of run i (from the thread reading that run).
template <class OnPoint>
loaded_runs load_summaries(std::vector<run_ref> refs, OnPoint&& on_point, bool warn_torn = false,
                           unsigned threads = 0) {
    loaded_runs out;
    out.refs = std::move(refs);
    const std::size_t n = out.refs.size();
    out.summaries.resize(n);
    std::vector<std::string> error(n);
    std::vector<std::vector<std::string>> warning(n);
    mltrack::read_options options;
    options.strict = false;
    auto read_one = [&](std::size_t i) {
        try {
            auto s = mltrack::scan_run(out.refs[i].dir, options,
                                       [&](std::string_view key, std::int64_t step, std::int64_t t, double v) {
                                           on_point(i, key, step, t, v);
                                       });
            const std::string file = (out.refs[i].dir / "events.jsonl").string();
            for (const auto& p : s.run.problems)
                warning[i].push_back(file + ":" + std::to_string(p.line) + ": " + p.message +
                                     (p.message.find("skipped") == std::string::npos ? " (line skipped)" : ""));
            if (warn_torn && s.run.torn_tail)
                warning[i].push_back(file + ":" + std::to_string(s.run.torn_tail->line) + ": " +
                                     s.run.torn_tail->message);
            out.summaries[i] = std::move(s);
        } catch (const std::exception& e) {
            error[i] = describe(e);
        }
    };
    parallel_for(n, read_one, threads);
    for (std::size_t i = 0; i < n; ++i) {
        if (!error[i].empty()) out.errors.push_back(error[i]);
        for (auto& w : warning[i]) out.warnings.push_back(std::move(w));
    }
    return out;
}

inline loaded_runs load_summaries(std::vector<run_ref> refs, unsigned threads = 0) {
    return load_summaries(
        std::move(refs), [](std::size_t, std::string_view, std::int64_t, std::int64_t, double) {}, false, threads);
}

}  // namespace mltrack_cli
