// Why: `mltrack ls` is the experiment table, the first thing anyone comparing runs wants. It reads only
// what the table needs (a streaming summary of each run, several runs at a time), so a root of a thousand
// runs with ten thousand points each lists in seconds.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "experiment_table.hpp"
#include "runs.hpp"
#include "select.hpp"

namespace mltrack_cli {

inline const char* const ls_help =
    R"(usage: mltrack ls ROOT [--experiment E]... [--format table|csv|json] [--sort [-]KEY] [--filter EXPR]

The experiment table: one row per run with experiment, run, state, start, duration, a param.KEY column per
param and a metric.KEY column per metric (the latest summary value, else the last time-series value).
ROOT is a JSONL root, an experiment folder or a run folder.

options:
  -e, --experiment E   only runs of experiment E (repeatable)
  -f, --format F       table (aligned, compact numbers), csv or json (exact values, times in ISO 8601 UTC,
                       durations in seconds). Default: table on a terminal, csv otherwise.
  -s, --sort KEY       sort by a column (e.g. metric.acc, param.lr, start); -KEY sorts descending.
                       Missing values and NaN come last. Default: experiment, then run.
      --filter EXPR    keep runs matching every condition of EXPR, joined by ',':
                       KEY OP VALUE with OP in = != < <= > >=, e.g.
                       --filter 'param.lr>0.01,metric.acc>=0.9,state=COMPLETE'
                       (numbers compare as numbers, the rest as text; a run without the column never
                       matches; repeat --filter to add conditions).
  -h, --help           this help

exit status: 0 listed; 1 a run could not be read (it is left out, the others are listed); 2 usage error.
)";

inline int cmd_ls(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--experiment", "-e", true},
                                             {"--format", "-f", true},
                                             {"--sort", "-s", true},
                                             {"--filter", nullptr, true}});
    if (args.has("--help")) {
        std::fputs(ls_help, stdout);
        return exit_ok;
    }
    if (args.positional.size() != 1) throw usage_error("ls takes one ROOT (got " + std::to_string(args.positional.size()) + ")");
    const std::string format = args.get("--format", is_terminal(stdout) ? "table" : "csv");
    if (format != "table" && format != "csv" && format != "json")
        throw usage_error("unknown format '" + format + "' (table, csv or json)");
    std::vector<condition> conditions;
    for (const auto& f : args.all("--filter")) {
        auto cs = parse_filter(f);
        conditions.insert(conditions.end(), cs.begin(), cs.end());
    }

    auto loaded = load_summaries(find_runs(args.positional[0], args.all("--experiment")));
    for (const auto& w : loaded.warnings) std::fprintf(stderr, "mltrack ls: %s\n", w.c_str());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "mltrack ls: %s (run left out)\n", e.c_str());

    std::vector<const mltrack::run_summary*> runs;
    for (const auto& s : loaded.summaries)
        if (s) runs.push_back(&*s);
    auto table = build_table(runs);
    for (const auto& key : apply_filter(table, conditions))
        std::fprintf(stderr, "mltrack ls: no run has a column '%s'; no run matches the filter\n", key.c_str());
    if (args.has("--sort")) sort_rows(table, args.get("--sort"));

    output out(stdout);
    if (format == "table") write_aligned(out, table);
    else if (format == "csv") write_csv(out, table);
    else write_json(out, table);
    out.flush();
    if (out.failed()) throw command_error("cannot write the output");
    return loaded.errors.empty() ? exit_ok : exit_problem;
}

}  // namespace mltrack_cli
