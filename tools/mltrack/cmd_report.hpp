// Why: people compare runs by looking at them. `mltrack report ROOT -o report.html` reads every run in one
// streaming pass (several at a time), keeps a bounded sample of each curve for a bounded number of keys,
// and writes the self-contained page of report_html.hpp through a temporary file in the same folder,
// renamed into place when complete, so a killed report never leaves a partial page under the name asked.
#pragma once

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli.hpp"
#include "experiment_table.hpp"
#include "report_best.hpp"
#include "report_html.hpp"
#include "runs.hpp"

namespace mltrack_cli {

inline const char* const report_help =
    R"(usage: mltrack report [ROOT] -o FILE [--metric KEY] [--param KEY]... [--experiment E]... [--max-points N]
                      [--max-matrices N] [--max-charts N] [--max-columns N]

Writes one self-contained HTML page (inline style and script, nothing loaded from the network): the runs
table (sortable, filterable), a line chart per time series with every run overlaid and the best run marked
(inline SVG; smoothing, log-scale y and highlighting a run in every chart), parallel coordinates and a
scatter of each param against one metric, and each run's confusion matrices with ROC curves. ROOT is a
JSONL root, an experiment or a run folder (default ./mlruns).

options:
  -o, --output FILE     the HTML file to write (required; '-' writes to stdout). Written to a temporary
                        file in the same folder, renamed to FILE when complete.
  -m, --metric KEY      the metric of the param charts and of the table's first sort (default: the summary
                        metric most runs logged, else the time series most runs have; ties: alphabetical).
                        The value per run is the latest summary value, else the last time-series value.
  -p, --param KEY       chart only these params (repeatable; default: every param)
  -e, --experiment E    only runs of experiment E (repeatable)
      --max-points N    points kept per curve and run (default: 200000 / runs, between 100 and 1000; long
                        curves are thinned evenly, the last point always kept)
      --max-matrices N  confusion matrices shown (default 100)
      --max-charts N    line charts (the first N time series keys, alphabetical) and param scatters drawn
                        (default 100); the page says how many were left out
      --max-columns N   param columns and metric columns of the runs table, each (default 100)
  -h, --help            this help

exit status: 0 written; 1 a run could not be read (it is left out and listed in the report), the file
could not be written, no run matched --experiment, or no run has the --metric (then nothing is written; the
message names the closest metric); 2 usage error.
)";

inline std::size_t parse_count(const arguments& args, const char* name, std::size_t fallback) {
    if (!args.has(name)) return fallback;
    const std::string v = args.get(name);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
        throw usage_error(std::string(name) + " needs a positive number");
    return std::stoul(v);
}

/// Removes the temporary files (".NAME.tmp-PID") that reports killed while writing `target` left behind:
/// those whose process no longer exists. A report still running (its PID alive) keeps its file.
inline void remove_stale_temporaries(const fs::path& target) {
    const std::string prefix = "." + target.filename().string() + ".tmp-";
    std::error_code ec;
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string pid = name.substr(prefix.size());
        if (pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        const long n = std::stol(pid);
        if (n <= 0 || n == ::getpid() || ::kill(static_cast<pid_t>(n), 0) == 0 || errno != ESRCH) continue;
        std::error_code ignored;
        fs::remove(it->path(), ignored);
    }
}

/// Writes `text` to `path` ('-': stdout) through a temporary file in the same folder (".NAME.tmp-PID"),
/// renamed over `path` once written and closed: a reader never sees a partial page, and a report killed
/// while writing leaves at most the temporary file, never a partial `path`; the next report to `path`
/// removes it. On failure the temporary file is removed and `path` is left as it was.
inline void write_whole_file(const std::string& path, const std::string& text) {
    if (path == "-") {
        if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
            throw command_error("cannot write to stdout");
        return;
    }
    const fs::path target(path);
    remove_stale_temporaries(target);
    const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw command_error("cannot write " + path + ": " + std::strerror(errno));
    const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int write_errno = errno;
    const bool closed = std::fclose(f) == 0;
    std::error_code ec;
    if (!wrote || !closed) {
        fs::remove(tmp, ec);
        throw command_error("cannot write " + path + ": " + std::strerror(wrote ? errno : write_errno));
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw command_error("cannot write " + path + ": " + ec.message());
    }
}

inline int cmd_report(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--output", "-o", true},
                                             {"--metric", "-m", true},
                                             {"--param", "-p", true},
                                             {"--experiment", "-e", true},
                                             {"--max-points", nullptr, true},
                                             {"--max-matrices", nullptr, true},
                                             {"--max-charts", nullptr, true},
                                             {"--max-columns", nullptr, true}});
    if (args.has("--help")) {
        std::fputs(report_help, stdout);
        return exit_ok;
    }
    if (!args.has("--output")) throw usage_error("report needs -o FILE (the HTML file to write)");
    const std::string out_path = args.get("--output");

    const fs::path root = root_argument(args.positional, "report");
    auto refs = select_runs("report", root, args.all("--experiment"));
    const std::size_t n = refs.size();
    const std::size_t cap = parse_count(
        args, "--max-points", std::max<std::size_t>(100, std::min<std::size_t>(1000, 200000 / std::max<std::size_t>(1, n))));
    if (cap == 0) throw usage_error("--max-points must be at least 1");
    report_data d;
    d.title = root.string();
    d.max_matrices = parse_count(args, "--max-matrices", 100);
    d.max_charts = parse_count(args, "--max-charts", 100);
    d.max_columns = parse_count(args, "--max-columns", 100);
    std::vector<bounded_curves> curves(n);
    auto loaded = load_summaries(
        std::move(refs),
        [&](std::size_t i, std::string_view key, std::int64_t step, std::int64_t, double v) {
            curves[i].add(key, static_cast<double>(step), v, cap, d.max_charts);
        },
        true);

    d.params = args.all("--param");
    for (const auto& e : loaded.errors) d.problems.push_back(e + " (run left out)");
    for (const auto& w : loaded.warnings) d.problems.push_back(w);
    std::vector<const mltrack::run_summary*> sums;
    for (std::size_t i = 0; i < n; ++i) {
        if (!loaded.summaries[i]) continue;
        report_run r;
        r.summary = &*loaded.summaries[i];
        r.label = r.summary->run.experiment + "/" + r.summary->run.name;
        r.color = svg::run_color(d.runs.size());
        r.series = std::move(curves[i].series);
        d.runs.push_back(std::move(r));
        sums.push_back(&*loaded.summaries[i]);
    }
    // Every time series key of every run, counted once.
    std::size_t total_keys = 0;
    {
        std::vector<std::string_view> keys;  // views into the summaries
        for (const auto& r : d.runs)
            for (const auto& kv : r.summary->series) keys.push_back(kv.first);
        total_keys = distinct_sorted(std::move(keys)).size();
    }
    d.metric = args.get("--metric", default_metric(sums));
    if (args.has("--metric") && !sums.empty()) {
        auto known = [&](const std::string& m) {
            return std::any_of(d.runs.begin(), d.runs.end(), [&](const report_run& r) { return r.has_metric(m); });
        };
        if (!known(d.metric) && d.metric.rfind("metric.", 0) == 0) d.metric = d.metric.substr(7);  // `ls` column
        if (!known(d.metric)) {
            std::set<std::string> names;
            for (const auto& r : d.runs) {
                for (const auto& kv : r.summary->run.summary)
                    if (names.size() < 10000) names.insert(kv.first);
                for (const auto& kv : r.summary->series)
                    if (names.size() < 10000) names.insert(kv.first);
            }
            const std::vector<std::string> metrics(names.begin(), names.end());
            throw command_error("no run has a metric '" + d.metric + "'" + did_you_mean(d.metric, metrics) +
                                " (nothing written)");
        }
    }
    for (const auto& e : loaded.errors) std::fprintf(stderr, "mltrack report: %s (run left out)\n", e.c_str());

    const std::string html = render_report(d, total_keys);
    write_whole_file(out_path, html);
    if (out_path != "-")
        std::fprintf(stderr, "mltrack report: wrote %s (%zu runs, %zu KiB)\n", out_path.c_str(), d.runs.size(),
                     html.size() / 1024);
    return loaded.errors.empty() ? exit_ok : exit_problem;
}

}  // namespace mltrack_cli
