// Why: `mltrack ls` is the experiment table, the first thing anyone comparing runs wants. It reads only
// what the table needs (a streaming summary of each run, several runs at a time), so a root of a thousand
// runs with ten thousand points each lists in seconds.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <string>
#include <vector>

#include <mltrack/search.hpp>

#include "cli.hpp"
#include "experiment_table.hpp"
#include "runs.hpp"
#include "suggest.hpp"

namespace mltrack_cli {

inline const char* const ls_help =
    R"(usage: mltrack ls [ROOT] [--experiment E]... [--format table|csv|json] [--sort KEY] [--filter EXPR]
                  [--columns LIST]

The experiment table: one row per run with experiment, run, state, start, duration, a param.KEY column per
param and a metric.KEY column per metric (the latest summary value, else the last time-series value).
ROOT is a JSONL root, an experiment folder or a run folder; default ./mlruns. Only the columns of the runs
listed appear (a filter or -e leaves out other experiments' empty columns).

options:
  -e, --experiment E   only runs of experiment E (repeatable)
  -f, --format F       table (aligned, compact numbers), csv or json (exact values, times in ISO 8601 UTC,
                       durations in seconds). Default: table on a terminal, csv otherwise.
  -s, --sort KEY       sort by a column (e.g. metric.acc, param.lr, start); -KEY or 'KEY DESC' sorts
                       descending. Missing values and NaN come last. Default: experiment, then run.
      --filter EXPR    keep runs matching every condition of EXPR, joined by ',' (or AND):
                       KEY OP VALUE with OP in = != < <= > >=, e.g.
                       --filter 'param.lr>0.01,metric.acc>=0.9,state=COMPLETE'
                       KEY: experiment, run, state, start, duration, ranks, param.KEY, metric.KEY, tag.KEY
                       (numbers compare as numbers, the rest as text; a run without the column never
                       matches; repeat --filter to add conditions). The same syntax as the library's
                       mltrack::search_runs.
  -c, --columns LIST   show only these columns after experiment and run, in this order: names joined by
                       ',' (repeatable), '*' matches any text, e.g. --columns 'state,param.lr,metric.val/*'
  -h, --help           this help

exit status: 0 listed (also when no run matches the filter); 1 a run could not be read (it is left out, the
others are listed), ROOT holds no runs but a folder below it does, no run matched --experiment, or no
column matched --columns; 2 usage error.
)";

/// The columns a run has (what `ls` could show for it), for "did you mean".
inline void add_columns_of(const mltrack::run_summary& s, std::vector<std::string>& out) {
    auto add = [&](std::string c) {
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
    };
    for (const char* c : {"experiment", "run", "state", "start", "duration", "ranks"}) add(c);
    for (const auto& kv : s.run.params) add("param." + kv.first);
    for (const auto& kv : latest_metrics(s)) add("metric." + kv.first);
    for (const auto& kv : s.run.tags) add("tag." + kv.first);
}

/// True when `name` matches `pattern`, where '*' matches any text (including '/').
inline bool glob_match(std::string_view pattern, std::string_view name) {
    std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == '*') star = p++, mark = n;
        else if (p < pattern.size() && pattern[p] == name[n]) ++p, ++n;
        else if (star != std::string_view::npos) p = star + 1, n = ++mark;
        else return false;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

/// Keeps experiment, run and the columns LIST names (in its order, each once); warns about names that
/// match no column. Throws command_error when none matches.
inline void select_columns(experiment_table& t, const std::vector<std::string>& lists) {
    std::vector<std::string> wanted;
    for (const auto& list : lists) {
        std::size_t from = 0;
        while (from <= list.size()) {
            auto comma = list.find(',', from);
            if (comma == std::string::npos) comma = list.size();
            std::string name(mltrack::detail::trim_blanks(std::string_view(list).substr(from, comma - from)));
            from = comma + 1;
            if (name.empty()) continue;
            if (name.find('*') == std::string::npos) {
                const std::string canonical = mltrack::canonical_column(name);
                if (!canonical.empty()) name = canonical;
            }
            wanted.push_back(std::move(name));
        }
    }
    if (wanted.empty()) throw usage_error("--columns needs column names (e.g. --columns param.lr,metric.acc)");
    std::vector<std::size_t> keep = {0, 1};  // experiment, run
    bool any = false;
    for (const auto& w : wanted) {
        bool matched = false;
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            if (!glob_match(w, t.columns[c].name)) continue;
            matched = true;
            if (std::find(keep.begin(), keep.end(), c) == keep.end()) keep.push_back(c);
        }
        if (!matched)
            std::fprintf(stderr, "mltrack ls: no column '%s'%s\n", w.c_str(), did_you_mean(w, t.names()).c_str());
        any = any || matched;
    }
    if (!any && !t.rows.empty()) throw command_error("no column matched --columns");
    experiment_table out;
    for (auto c : keep) out.columns.push_back(t.columns[c]);
    for (auto& row : t.rows) {
        std::vector<cell> r;
        for (auto c : keep) r.push_back(std::move(row[c]));
        out.rows.push_back(std::move(r));
    }
    t = std::move(out);
}

inline int cmd_ls(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--experiment", "-e", true},
                                             {"--format", "-f", true},
                                             {"--sort", "-s", true},
                                             {"--filter", nullptr, true},
                                             {"--columns", "-c", true}});
    if (args.has("--help")) {
        std::fputs(ls_help, stdout);
        return exit_ok;
    }
    const fs::path root = root_argument(args.positional, "ls");
    const std::string format = args.get("--format", is_terminal(stdout) ? "table" : "csv");
    if (format != "table" && format != "csv" && format != "json")
        throw usage_error("unknown format '" + format + "' (table, csv or json)");
    std::vector<mltrack::filter_condition> conditions;
    mltrack::run_order order;
    try {
        for (const auto& f : args.all("--filter")) {
            auto cs = mltrack::parse_filter(f);
            conditions.insert(conditions.end(), cs.begin(), cs.end());
        }
        if (args.has("--sort")) order = mltrack::parse_order_by(args.get("--sort"));
    } catch (const mltrack::error& e) {
        throw usage_error(describe(e));
    }

    auto loaded = load_summaries(select_runs("ls", root, args.all("--experiment")));
    for (const auto& w : loaded.warnings) std::fprintf(stderr, "mltrack ls: %s\n", w.c_str());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "mltrack ls: %s (run left out)\n", e.c_str());

    std::vector<const mltrack::run_summary*> runs;
    std::vector<std::string> known;  // every column some run has
    for (const auto& s : loaded.summaries)
        if (s) runs.push_back(&*s), add_columns_of(*s, known);
    std::vector<std::string> warned;
    for (const auto& c : conditions)
        if (std::find(known.begin(), known.end(), c.key) == known.end() &&
            std::find(warned.begin(), warned.end(), c.key) == warned.end() && !runs.empty()) {
            warned.push_back(c.key);
            std::fprintf(stderr, "mltrack ls: no run has a column '%s'%s; no run matches the filter\n",
                         c.key.c_str(), did_you_mean(c.key, known).c_str());
        }
    if (!order.key.empty() && !runs.empty() && std::find(known.begin(), known.end(), order.key) == known.end())
        throw usage_error("cannot sort by '" + order.key + "': no run has that column" + did_you_mean(order.key, known));
    runs.erase(std::remove_if(runs.begin(), runs.end(),
                              [&](const mltrack::run_summary* s) { return !mltrack::matches(*s, conditions); }),
               runs.end());
    mltrack::sort_runs(runs, order);
    auto table = build_table(runs);  // only the matching runs' columns
    if (args.has("--columns")) select_columns(table, args.all("--columns"));

    output out(stdout);
    if (format == "table") write_aligned(out, table);
    else if (format == "csv") write_csv(out, table);
    else write_json(out, table);
    out.flush();
    if (out.failed()) throw command_error("cannot write the output");
    return loaded.errors.empty() ? exit_ok : exit_problem;
}

}  // namespace mltrack_cli
