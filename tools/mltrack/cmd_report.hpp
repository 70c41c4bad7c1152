// Why: people compare runs by looking at them. `mltrack report ROOT -o report.html` reads every run in one
// streaming pass (several at a time), keeps a bounded sample of each curve, and writes the self-contained
// page of report_html.hpp.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cli.hpp"
#include "experiment_table.hpp"
#include "report_html.hpp"
#include "runs.hpp"

namespace mltrack_cli {

inline const char* const report_help =
    R"(usage: mltrack report [ROOT] -o FILE [--metric KEY] [--param KEY]... [--experiment E]... [--max-points N]
                      [--max-matrices N]

Writes one self-contained HTML page (no script, nothing loaded from the network): the runs table, a line
chart per time series with every run overlaid (inline SVG), a scatter of each param against one metric,
and each run's confusion matrices with ROC curves. ROOT is a JSONL root, an experiment or a run folder
(default ./mlruns).

options:
  -o, --output FILE     the HTML file to write (required; '-' writes to stdout)
  -m, --metric KEY      the metric of the param scatters (default: the metric most runs have; ties:
                        alphabetical). The value per run is the latest summary value, else the last
                        time-series value.
  -p, --param KEY       scatter only these params (repeatable; default: every param)
  -e, --experiment E    only runs of experiment E (repeatable)
      --max-points N    points kept per curve and run (default: 200000 / runs, between 100 and 1000; long
                        curves are thinned evenly, the last point always kept)
      --max-matrices N  confusion matrices shown (default 100)
  -h, --help            this help

exit status: 0 written; 1 a run could not be read (it is left out and listed in the report), the file
could not be written, no run matched --experiment, or no run has the --metric (then nothing is written; the
message names the closest metric); 2 usage error.
)";

/// The metric the scatters use by default: the one most runs have (ties: alphabetical).
inline std::string default_metric(const std::vector<const mltrack::run_summary*>& runs) {
    std::map<std::string, std::size_t> count;
    for (const auto* s : runs)
        for (const auto& kv : latest_metrics(*s)) ++count[kv.first];
    std::string best;
    std::size_t n = 0;
    for (const auto& kv : count)
        if (kv.second > n) best = kv.first, n = kv.second;
    return best;
}

inline std::size_t parse_count(const arguments& args, const char* name, std::size_t fallback) {
    if (!args.has(name)) return fallback;
    const std::string v = args.get(name);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
        throw usage_error(std::string(name) + " needs a positive number");
    return std::stoul(v);
}

inline int cmd_report(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--output", "-o", true},
                                             {"--metric", "-m", true},
                                             {"--param", "-p", true},
                                             {"--experiment", "-e", true},
                                             {"--max-points", nullptr, true},
                                             {"--max-matrices", nullptr, true}});
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
    std::vector<std::map<std::string, decimated_series, std::less<>>> curves(n);
    auto loaded = load_summaries(
        std::move(refs),
        [&](std::size_t i, std::string_view key, std::int64_t step, std::int64_t, double v) {
            auto it = curves[i].find(key);
            if (it == curves[i].end()) it = curves[i].emplace(std::string(key), decimated_series{}).first;
            it->second.add(static_cast<double>(step), v, cap);
        },
        true);

    report_data d;
    d.title = root.string();
    d.max_matrices = parse_count(args, "--max-matrices", 100);
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
        r.series = std::move(curves[i]);
        d.runs.push_back(std::move(r));
        sums.push_back(&*loaded.summaries[i]);
    }
    d.metric = args.get("--metric", default_metric(sums));
    if (args.has("--metric") && !sums.empty()) {
        std::vector<std::string> metrics;
        for (const auto* s : sums)
            for (const auto& kv : latest_metrics(*s))
                if (std::find(metrics.begin(), metrics.end(), kv.first) == metrics.end()) metrics.push_back(kv.first);
        if (std::find(metrics.begin(), metrics.end(), d.metric) == metrics.end() && d.metric.rfind("metric.", 0) == 0)
            d.metric = d.metric.substr(7);  // the column name of `ls`
        if (std::find(metrics.begin(), metrics.end(), d.metric) == metrics.end()) {
            std::sort(metrics.begin(), metrics.end());
            throw command_error("no run has a metric '" + d.metric + "'" + did_you_mean(d.metric, metrics) +
                                " (nothing written)");
        }
    }
    for (const auto& e : loaded.errors) std::fprintf(stderr, "mltrack report: %s (run left out)\n", e.c_str());

    const std::string html = render_report(d);
    std::FILE* f = out_path == "-" ? stdout : std::fopen(out_path.c_str(), "wb");
    if (!f) throw command_error("cannot write " + out_path + ": " + std::strerror(errno));
    const bool wrote = std::fwrite(html.data(), 1, html.size(), f) == html.size();
    const bool closed = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
    if (!wrote || !closed) throw command_error("cannot write " + out_path);
    if (out_path != "-")
        std::fprintf(stderr, "mltrack report: wrote %s (%zu runs, %zu KiB)\n", out_path.c_str(), d.runs.size(),
                     html.size() / 1024);
    return loaded.errors.empty() ? exit_ok : exit_problem;
}

}  // namespace mltrack_cli
