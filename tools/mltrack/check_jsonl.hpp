// Why: `mltrack check` must find every problem of a JSONL run, each with its file and line, before a sync
// or an analysis trips over it. Lines are validated by the library's streaming reader itself (stream_run:
// JSON, kinds, fields, types, keys, shapes, artifact paths; constant memory), in lenient mode so that
// every bad line is reported, not only the first; on top of that come the rules that span lines: nothing
// but a run_resume after a run_end, the folders named after the run_start line, and the artifact copies
// as their latest records describe them (check_artifacts.hpp).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <mltrack/detail/files.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/record_stream.hpp>

#include "check_artifacts.hpp"
#include "read_progress.hpp"
#include "runs.hpp"
#include "text.hpp"

namespace mltrack_cli {

struct file_check {
    std::size_t lines = 0;
    std::vector<std::string> problems;  ///< "file:line: message"
};

inline file_check check_jsonl(const fs::path& file, bool verify_digests, read_progress* progress = nullptr) {
    file_check out;
    const std::string name = file.string();
    std::vector<std::pair<std::size_t, std::string>> found;  // (line, message), sorted by line at the end
    auto problem = [&](std::size_t line, const std::string& message) { found.emplace_back(line, message); };
    mltrack::read_options options;
    options.strict = false;
    if (progress) progress->attach(options, file.string());
    // The lines are validated by the streaming reader itself; the rules across lines are checked as each
    // record goes by (constant memory, whatever the run's length). Artifact copies are compared with the
    // latest record of each copy's path once the file is read (check_artifacts.hpp).
    bool ended = false;
    std::size_t end_line = 0;
    artifact_records latest;
    mltrack::run_data run;
    try {
        run = mltrack::stream_run(file, options, [&](const mltrack::record& r, const mltrack::run_data&,
                                                     std::size_t at) {
            if (ended && r.kind != mltrack::record_kind::run_resume)
                problem(at, std::string("a ") + mltrack::to_string(r.kind) + " record after the run ended (line " +
                                std::to_string(end_line) + ") without a run_resume");
            if (r.kind == mltrack::record_kind::artifact) latest.note(r.get_artifact(), "", at);
            if (r.kind == mltrack::record_kind::execution) {
                const auto& e = r.get_execution();
                for (const auto& a : e.inputs) latest.note(a, "execution '" + e.name + "' input ", at);
                for (const auto& a : e.outputs) latest.note(a, "execution '" + e.name + "' output ", at);
            }
            if (r.kind == mltrack::record_kind::run_end) {
                ended = true;
                end_line = at;
            } else if (r.kind == mltrack::record_kind::run_resume) {
                ended = false;
            }
        });
    } catch (const std::exception& e) {
        out.problems.push_back(one_line(describe(e)));  // "file:1: ..." or "cannot open ..."
        return out;
    }
    for (const auto& p : run.problems) problem(p.line, p.message);
    if (run.torn_tail)
        problem(run.torn_tail->line, run.torn_tail->message + " (a write was cut short: crash or full disk)");
    out.lines = run.lines;
    for (const auto& [line, message] : latest.problems(file.parent_path(), verify_digests)) problem(line, message);

    // The JSONL layout names folders after the run: <root>/<experiment>/<run>/events.jsonl.
    const int file_rank = mltrack::detail::events_file_rank(file.filename().string());
    if (file_rank > 0 && run.rank != file_rank)
        problem(1, "the file is rank " + std::to_string(file_rank) + "'s, but its run_start says rank " +
                       std::to_string(run.rank));
    if (file_rank >= 0) {
        const fs::path dir = fs::absolute(file).lexically_normal().parent_path();
        if (dir.filename() != run.name || dir.parent_path().filename() != run.experiment)
            problem(1, "run_start names experiment '" + run.experiment + "' and run '" + run.name +
                           "', but the file is in " + dir.parent_path().filename().string() + "/" +
                           dir.filename().string());
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Names and messages come from the file: nothing it holds reaches the terminal as a control sequence.
    for (const auto& f : found) out.problems.push_back(one_line(name + ":" + std::to_string(f.first) + ": " + f.second));
    return out;
}

}  // namespace mltrack_cli
