// Why: analysis happens in pandas or R, which want time series in long format: one row per point with
// experiment, run, rank, key, step, time, value. `mltrack export` streams every run's points straight from the
// files to the output (no run is held in memory), in file order, exactly: values round-trip, times are
// Unix seconds with microseconds as in the JSONL files.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mltrack/detail/jsonl/json_line.hpp>
#include <mltrack/summary.hpp>

#include "cli.hpp"
#include "read_progress.hpp"
#include "csv.hpp"
#include "runs.hpp"
#include "text.hpp"

namespace mltrack_cli {

inline const char* const export_help =
    R"(usage: mltrack export [PATH] [--format csv|json|jsonl] [--experiment E]... [--key K]... [-o FILE]

Time series in long format, one row per point: experiment, run, rank, key, step, time, value. PATH is a
JSONL root, an experiment folder or a run folder (default ./mlruns). Points come in file order, run by run (sorted by
experiment and run), rank by rank (rank is 0 except for runs logged by every rank of a job). time is Unix seconds with microseconds (as in the JSONL files); values are exact (shortest
text that reads back to the same double), non-finite values are NaN, Infinity, -Infinity (strings in JSON).

options:
  -f, --format F       csv (default, with a header line), json (one array of objects) or jsonl (one object
                       per line)
  -e, --experiment E   only runs of experiment E (repeatable)
  -k, --key K          only series K (repeatable)
  -o, --output FILE    write to FILE instead of stdout
  -h, --help           this help

pandas: pd.read_csv("points.csv") or pd.read_json("points.json"); R: read.csv("points.csv").
A --key or --experiment that no run has is named on stderr with the closest name ("did you mean").
exit status: 0 exported; 1 a run could not be read (the others are exported), the output failed, no run
matched --experiment or no series matched --key; 2 usage error.
)";

namespace detail {
inline void append_json_point(std::string& b, const std::string& exp_json, const std::string& run_json, int rank,
                              std::string_view key, std::int64_t step, std::int64_t time_ns, double value) {
    b += "{\"experiment\":";
    b += exp_json;
    b += ",\"run\":";
    b += run_json;
    b += ",\"rank\":";
    mltrack::detail::append_int(b, rank);
    b += ",\"key\":";
    mltrack::detail::append_json_string(b, key);
    b += ",\"step\":";
    mltrack::detail::append_int(b, step);
    b += ",\"time\":";
    mltrack::detail::append_time(b, time_ns);
    b += ",\"value\":";
    mltrack::detail::append_double(b, value);
    b += '}';
}
}  // namespace detail

inline int cmd_export(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(
        argv, {{"--format", "-f", true}, {"--experiment", "-e", true}, {"--key", "-k", true}, {"--output", "-o", true}});
    if (args.has("--help")) {
        std::fputs(export_help, stdout);
        return exit_ok;
    }
    const fs::path root = root_argument(args.positional, "export");
    const std::string format = args.get("--format", "csv");
    if (format != "csv" && format != "json" && format != "jsonl")
        throw usage_error("unknown format '" + format + "' (csv, json or jsonl)");
    const auto keys = args.all("--key");
    const auto refs = select_runs("export", root, args.all("--experiment"));
    std::vector<std::string> seen_keys;  // every series key of the runs read, for "did you mean"

    std::FILE* f = stdout;
    const std::string out_path = args.get("--output");
    if (!out_path.empty()) {
        f = std::fopen(out_path.c_str(), "wb");
        if (!f) throw command_error("cannot write " + out_path + ": " + std::strerror(errno));
    }
    int status = exit_ok;
    {
        output out(f);
        if (format == "csv") out << "experiment,run,rank,key,step,time,value\n";
        if (format == "json") out << "[";
        bool first = true;
        mltrack::read_options options;
        options.strict = false;
        read_progress progress("mltrack export");
        for (const auto& ref : refs) {
            try {
                // The names of the run's folders (the JSONL sink names them after the run_start line).
                std::string exp_csv, run_csv, exp_json, run_json;
                append_csv_field(exp_csv, ref.experiment);
                append_csv_field(run_csv, ref.run);
                mltrack::detail::append_json_string(exp_json, ref.experiment);
                mltrack::detail::append_json_string(run_json, ref.run);
                for (const auto& [rank, file] : mltrack::rank_files(ref.dir)) {
                progress.attach(options, file.string());
                auto s = mltrack::scan_run(file, options, [&, rank = rank](std::string_view key, std::int64_t step,
                                                                            std::int64_t t, double v) {
                    if (!keys.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) return;
                    std::string& b = out.buffer();
                    if (format == "csv") {
                        b += exp_csv;
                        b += ',';
                        b += run_csv;
                        b += ',';
                        mltrack::detail::append_int(b, rank);
                        b += ',';
                        append_csv_field(b, key);
                        b += ',';
                        mltrack::detail::append_int(b, step);
                        b += ',';
                        mltrack::detail::append_time(b, t);
                        b += ',';
                        if (std::isfinite(v)) mltrack::detail::append_double(b, v);
                        else b += exact_number(v);
                        b += '\n';
                    } else {
                        if (format == "json") b += first ? "\n  " : ",\n  ";
                        first = false;
                        detail::append_json_point(b, exp_json, run_json, rank, key, step, t, v);
                        if (format == "jsonl") b += '\n';
                    }
                    out.maybe_flush();
                });
                progress.clear();
                for (const auto& p : s.run.problems)
                    std::fprintf(stderr, "mltrack export: %s:%zu: %s (line skipped)\n", file.string().c_str(),
                                 p.line, p.message.c_str());
                for (const auto& kv : s.series)
                    if (std::find(seen_keys.begin(), seen_keys.end(), kv.first) == seen_keys.end())
                        seen_keys.push_back(kv.first);
                }
            } catch (const std::exception& e) {
                progress.clear();
                std::fprintf(stderr, "mltrack export: %s (run left out)\n", describe(e).c_str());
                status = exit_problem;
            }
        }
        if (format == "json") out << (first ? "]\n" : "\n]\n");
        out.flush();
        if (out.failed()) {
            std::fprintf(stderr, "mltrack export: cannot write the output\n");
            status = exit_problem;
        }
    }
    if (!keys.empty() && !refs.empty()) {
        std::sort(seen_keys.begin(), seen_keys.end());
        bool any = false;
        for (const auto& k : keys) {
            const bool found = std::binary_search(seen_keys.begin(), seen_keys.end(), k);
            any = any || found;
            if (!found)
                std::fprintf(stderr, "mltrack export: no run has a series '%s'%s\n", k.c_str(),
                             did_you_mean(k, seen_keys).c_str());
        }
        if (!any) {
            std::fprintf(stderr, "mltrack export: no series matched --key\n");
            status = exit_problem;
        }
    }
    if (f != stdout && std::fclose(f) != 0) {
        std::fprintf(stderr, "mltrack export: cannot write %s\n", out_path.c_str());
        status = exit_problem;
    }
    return status;
}

}  // namespace mltrack_cli
