// Why: `mltrack show RUN_DIR` answers "what is in this run?" without opening the JSONL: state and times,
// metadata (host, rank, environment when the run recorded them), params, summary, each series with count,
// first, last, min and max, classification metrics, artifacts and executions, and any line the reader had
// to skip. It streams the file (scan_run), so a run of any length shows in one pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mltrack/summary.hpp>

#include "cli.hpp"
#include "read_progress.hpp"
#include "roc.hpp"
#include "runs.hpp"
#include "table.hpp"
#include "text.hpp"

namespace mltrack_cli {

inline const char* const show_help =
    R"(usage: mltrack show RUN_DIR [--format text|json]

Everything about one run: experiment, run, state, start, end, duration, the ranks of a job that logged
from every rank (one line each), metadata (host, rank, environment when recorded), params, summary metrics, each time series (count, steps, first, last, min, max),
classification metrics (confusion matrix, ROC points and AUC), artifacts, executions, and lines the reader
skipped. RUN_DIR is a run folder or its events.jsonl.

options:
  -f, --format F   text (default) or json (exact values, times in ISO 8601 UTC)
  -h, --help       this help

exit status: 0 shown; 1 the run cannot be read; 2 usage error.
)";

inline nlohmann::ordered_json artifact_json(const mltrack::artifact& a) {
    nlohmann::ordered_json j;
    j["type"] = mltrack::to_string(a.type);
    j["name"] = a.name;
    j["source"] = a.source;
    j["path"] = a.path;
    j["directory"] = a.directory;
    j["size"] = a.size;
    j["sha256"] = a.sha256;
    j["framework"] = a.framework;
    j["framework_version"] = a.framework_version;
    j["metadata"] = nlohmann::ordered_json::parse(a.metadata.dump());
    return j;
}

inline nlohmann::ordered_json show_json(const mltrack::run_summary& s) {
    const auto& r = s.run;
    nlohmann::ordered_json j;
    j["experiment"] = r.experiment;
    j["run"] = r.name;
    j["state"] = mltrack::to_string(r.state);
    j["start"] = iso_time(r.start_time_ns);
    j["end"] = r.end_time_ns ? nlohmann::ordered_json(iso_time(r.end_time_ns)) : nlohmann::ordered_json(nullptr);
    j["duration_s"] = r.end_time_ns ? nlohmann::ordered_json(duration_seconds(r.end_time_ns - r.start_time_ns))
                                    : nlohmann::ordered_json(nullptr);
    j["resumes"] = r.resumes;
    j["format_version"] = r.format_version;
    j["lines"] = s.lines;
    j["points"] = s.points;
    j["metadata"] = nlohmann::ordered_json::parse(r.metadata.dump());
    j["params"] = nlohmann::ordered_json::object();
    for (const auto& kv : r.params) j["params"][kv.first] = json_param(kv.second);
    j["summary"] = nlohmann::ordered_json::object();
    for (const auto& kv : r.summary) j["summary"][kv.first] = json_number(kv.second);
    for (const auto& kv : r.summary_text) j["summary"][kv.first] = kv.second;  // string summary metrics
    j["series"] = nlohmann::ordered_json::object();
    for (const auto& kv : s.series) {
        const auto& st = kv.second;
        nlohmann::ordered_json x;
        x["count"] = st.count;
        x["first_step"] = st.first_step;
        x["last_step"] = st.last_step;
        x["first_time"] = iso_time(st.first_time_ns);
        x["last_time"] = iso_time(st.last_time_ns);
        x["first"] = json_number(st.first);
        x["last"] = json_number(st.last);
        x["min"] = json_number(st.min);
        x["max"] = json_number(st.max);
        j["series"][kv.first] = x;
    }
    j["classifications"] = nlohmann::ordered_json::array();
    for (const auto& c : r.classifications) {
        nlohmann::ordered_json x;
        x["name"] = c.display_name;
        x["labels"] = c.labels;
        x["matrix"] = c.matrix;
        auto numbers = [](const std::vector<double>& v) {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (double d : v) a.push_back(json_number(d));
            return a;
        };
        x["fpr"] = numbers(c.fpr);
        x["tpr"] = numbers(c.tpr);
        x["thresholds"] = numbers(c.thresholds);
        const double auc = roc_auc(c.fpr, c.tpr);
        x["auc"] = std::isnan(auc) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(auc);
        j["classifications"].push_back(x);
    }
    j["artifacts"] = nlohmann::ordered_json::array();
    for (const auto& a : r.artifacts) j["artifacts"].push_back(artifact_json(a));
    j["executions"] = nlohmann::ordered_json::array();
    for (const auto& e : r.executions) {
        nlohmann::ordered_json x;
        x["name"] = e.name;
        x["schema_title"] = e.schema_title;
        x["state"] = mltrack::to_string(e.state);
        x["inputs"] = nlohmann::ordered_json::array();
        for (const auto& a : e.inputs) x["inputs"].push_back(artifact_json(a));
        x["outputs"] = nlohmann::ordered_json::array();
        for (const auto& a : e.outputs) x["outputs"].push_back(artifact_json(a));
        x["metadata"] = nlohmann::ordered_json::parse(e.metadata.dump());
        j["executions"].push_back(x);
    }
    j["problems"] = nlohmann::ordered_json::array();
    for (const auto& p : r.problems) j["problems"].push_back({{"line", p.line}, {"message", p.message}});
    if (r.torn_tail) j["problems"].push_back({{"line", r.torn_tail->line}, {"message", r.torn_tail->message}});
    j["rank"] = r.rank;
    j["world_size"] = r.world_size;
    j["ranks"] = nlohmann::ordered_json::array();  // the other ranks' files, each shown the same way
    for (const auto& other : s.ranks) j["ranks"].push_back(show_json(other));
    return j;
}

/// A JSON value as one line of text: strings bare, everything else compact JSON.
inline std::string value_text(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string artifact_location(const mltrack::artifact& a) {
    return a.path.empty() ? a.source + " (reference)" : a.path;
}

inline void show_text(output& out, const mltrack::run_summary& s, const std::string& file) {
    const auto& r = s.run;
    text_table head;
    head.rows = {{"experiment", r.experiment},
                 {"run", r.name},
                 {"state", mltrack::to_string(r.state)},
                 {"start", iso_time(r.start_time_ns)},
                 {"end", r.end_time_ns ? iso_time(r.end_time_ns) : "-"},
                 {"duration", r.end_time_ns ? short_duration(r.end_time_ns - r.start_time_ns) : "-"},
                 {"resumes", std::to_string(r.resumes)},
                 {"records", std::to_string(s.lines) + " lines, " + std::to_string(s.points) + " points"}};
    if (r.world_size > 1 || !s.ranks.empty())
        head.rows.push_back({"ranks", std::to_string(r.world_size) + " in the job, " +
                                          std::to_string(s.ranks.size() + 1) + " wrote files"});
    head.write(out);

    auto section = [&](const char* title, std::size_t n) {
        out << '\n' << title << " (" << std::to_string(n) << ")\n";
    };
    if (!s.ranks.empty()) {  // rank_policy::every: one line per rank; the sections below are rank 0's
        section("ranks", s.ranks.size() + 1);
        text_table t;
        t.indent = "  ";
        t.header = {"rank", "state", "points", "series", "last step", "end"};
        t.right = {true, false, true, true, true, false};
        auto row = [&](const mltrack::run_summary& x) {
            std::int64_t last = -1;
            for (const auto& kv : x.series) last = std::max(last, kv.second.last_step);
            t.rows.push_back({std::to_string(x.run.rank), mltrack::to_string(x.run.state), std::to_string(x.points),
                              std::to_string(x.series.size()), last < 0 ? "-" : std::to_string(last),
                              x.run.end_time_ns ? iso_time(x.run.end_time_ns) : "-"});
        };
        row(s);
        for (const auto& x : s.ranks) row(x);
        t.write(out);
        out << "  (the sections below are rank 0's; --format json has every rank)\n";
    }
    if (!r.metadata.empty()) {
        section("metadata", r.metadata.size());
        text_table t;
        t.indent = "  ";
        // Objects (the captured environment: git, cpu, slurm...) one leaf per row, as dotted keys.
        std::function<void(const std::string&, const nlohmann::json&)> add = [&](const std::string& k,
                                                                                 const nlohmann::json& v) {
            if (v.is_object() && !v.empty()) {
                for (auto it = v.begin(); it != v.end(); ++it) add(k + "." + it.key(), *it);
            } else {
                t.rows.push_back({k, value_text(v)});
            }
        };
        for (auto it = r.metadata.begin(); it != r.metadata.end(); ++it) add(it.key(), *it);
        t.write(out);
    }
    section("params", r.params.size());
    {
        text_table t;
        t.indent = "  ";
        for (const auto& kv : r.params) t.rows.push_back({kv.first, kv.second.to_text()});
        t.write(out);
    }
    section("summary", r.summary.size() + r.summary_text.size());
    {
        std::map<std::string, std::string> cells;  // numbers and strings, by key
        for (const auto& kv : r.summary) cells[kv.first] = exact_number(kv.second);
        for (const auto& kv : r.summary_text) cells[kv.first] = kv.second;
        text_table t;
        t.indent = "  ";
        for (const auto& kv : cells) t.rows.push_back({kv.first, kv.second});
        t.write(out);
    }
    section("series", s.series.size());
    if (!s.series.empty()) {
        text_table t;
        t.indent = "  ";
        t.header = {"key", "count", "steps", "first", "last", "min", "max"};
        t.right = {false, true, true, true, true, true, true};
        for (const auto& kv : s.series) {
            const auto& st = kv.second;
            t.rows.push_back({kv.first, std::to_string(st.count),
                              std::to_string(st.first_step) + ".." + std::to_string(st.last_step),
                              short_number(st.first), short_number(st.last), short_number(st.min),
                              short_number(st.max)});
        }
        t.write(out);
    }
    if (!r.classifications.empty()) {
        section("classifications", r.classifications.size());
        std::size_t k = 0;
        for (const auto& c : r.classifications) {
            out << "  " << (c.display_name.empty() ? "#" + std::to_string(++k) : (++k, c.display_name)) << '\n';
            if (!c.labels.empty()) {
                text_table t;
                t.indent = "    ";
                t.header = {"true\\predicted"};
                t.right = {false};
                for (const auto& l : c.labels) {
                    t.header.push_back(l);
                    t.right.push_back(true);
                }
                for (std::size_t i = 0; i < c.matrix.size(); ++i) {
                    std::vector<std::string> row{i < c.labels.size() ? c.labels[i] : "?"};
                    for (auto v : c.matrix[i]) row.push_back(std::to_string(v));
                    t.rows.push_back(std::move(row));
                }
                t.write(out);
            }
            if (!c.fpr.empty())
                out << "    roc: " << std::to_string(c.fpr.size()) << " points, AUC "
                    << short_number(roc_auc(c.fpr, c.tpr)) << '\n';
        }
    }
    if (!r.artifacts.empty()) {
        section("artifacts", r.artifacts.size());
        text_table t;
        t.indent = "  ";
        t.header = {"type", "name", "location", "size", "sha256", "framework"};
        t.right = {false, false, false, true, false, false};
        for (const auto& a : r.artifacts)
            t.rows.push_back({mltrack::to_string(a.type), a.name, artifact_location(a),
                              a.size ? std::to_string(a.size) : "-", a.sha256.empty() ? "-" : a.sha256.substr(0, 12),
                              a.framework.empty() ? "-" : a.framework + (a.framework_version.empty() ? "" : " " + a.framework_version)});
        t.write(out);
    }
    if (!r.executions.empty()) {
        section("executions", r.executions.size());
        for (const auto& e : r.executions) {
            out << "  " << e.name << "  " << e.schema_title << "  " << mltrack::to_string(e.state) << '\n';
            auto list = [&](const char* what, const std::vector<mltrack::artifact>& as) {
                if (as.empty()) return;
                std::string line = std::string("    ") + what + ": ";
                for (std::size_t i = 0; i < as.size(); ++i)
                    line += (i ? ", " : "") + as[i].name + " [" + mltrack::to_string(as[i].type) + "] " +
                            (as[i].path.empty() ? as[i].source : as[i].path);
                out << line << '\n';
            };
            list("inputs", e.inputs);
            list("outputs", e.outputs);
        }
    }
    const std::size_t nprob = r.problems.size() + (r.torn_tail ? 1 : 0);
    if (nprob) {
        section("problems", nprob);
        for (const auto& p : r.problems) out << "  " << file << ":" << std::to_string(p.line) << ": " << p.message << '\n';
        if (r.torn_tail)
            out << "  " << file << ":" << std::to_string(r.torn_tail->line) << ": " << r.torn_tail->message << '\n';
    }
}

inline int cmd_show(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--format", "-f", true}});
    if (args.has("--help")) {
        std::fputs(show_help, stdout);
        return exit_ok;
    }
    if (args.positional.size() != 1) throw usage_error("show takes one RUN_DIR");
    const std::string format = args.get("--format", "text");
    if (format != "text" && format != "json") throw usage_error("unknown format '" + format + "' (text or json)");
    const fs::path path = args.positional[0];
    const auto kind = classify(path);
    if (kind != path_kind::run_dir && kind != path_kind::run_file)
        throw usage_error(path.string() + " is not a run folder (no events.jsonl); use 'mltrack ls' for roots");
    mltrack::read_options options;
    options.strict = false;
    read_progress progress("mltrack show");
    progress.attach(options, path.string());
    const auto s = mltrack::read_summary(path, options);
    progress.clear();
    const std::string file = (kind == path_kind::run_dir ? path / "events.jsonl" : path).string();
    output out(stdout);
    if (format == "json") out << show_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    else show_text(out, s, file);
    out.flush();
    if (out.failed()) throw command_error("cannot write the output");
    return exit_ok;
}

}  // namespace mltrack_cli
