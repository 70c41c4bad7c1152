// Why: `mltrack check` must find every problem of a JSONL run, each with its file and line, before a sync
// or an analysis trips over it. Lines are validated by the library's reader itself (read_run: JSON, kinds,
// fields, types, artifact paths), in lenient mode so that every bad line is reported, not only the first;
// on top of that come the rules that span lines: nothing but a run_resume after a run_end, the folders
// named after the run_start line (artifact copies: check_artifacts.hpp).
#pragma once

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mltrack/detail/files.hpp>
#include <mltrack/reader.hpp>

#include "runs.hpp"

namespace mltrack_cli {

struct file_check {
    std::size_t lines = 0;
    std::vector<std::string> problems;  ///< "file:line: message"
};

inline file_check check_jsonl(const fs::path& file, bool verify_digests) {
    file_check out;
    const std::string name = file.string();
    std::vector<std::pair<std::size_t, std::string>> found;  // (line, message), sorted by line at the end
    auto problem = [&](std::size_t line, const std::string& message) { found.emplace_back(line, message); };
    mltrack::read_options options;
    options.strict = false;
    mltrack::run_data run;
    try {
        run = mltrack::read_run(file, options);
    } catch (const std::exception& e) {
        out.problems.push_back(describe(e));  // "file:1: ..." or "cannot open ..."
        return out;
    }
    // Lines that produced no record, so that record k maps back to its line.
    std::set<std::size_t> skipped;
    for (const auto& p : run.problems) {
        skipped.insert(p.line);
        problem(p.line, p.message);
    }
    if (run.torn_tail) {
        skipped.insert(run.torn_tail->line);
        problem(run.torn_tail->line, run.torn_tail->message + " (a write was cut short: crash or full disk)");
    }
    // Artifact copies are checked by check_artifacts (check_artifacts.hpp).
    (void)verify_digests;
    std::size_t line = 0;
    auto next_line = [&] {
        do ++line;
        while (skipped.count(line));
        return line;
    };
    bool ended = false;
    std::size_t end_line = 0;
    for (const auto& r : run.records) {
        const std::size_t at = next_line();
        if (ended && r.kind != mltrack::record_kind::run_resume)
            problem(at, std::string("a ") + mltrack::to_string(r.kind) + " record after the run ended (line " +
                            std::to_string(end_line) + ") without a run_resume");
        if (r.kind == mltrack::record_kind::run_end) {
            ended = true;
            end_line = at;
        } else if (r.kind == mltrack::record_kind::run_resume) {
            ended = false;
        }
    }
    out.lines = std::max(line, run.torn_tail ? run.torn_tail->line : line);
    for (const auto& p : run.problems) out.lines = std::max(out.lines, p.line);

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
    for (const auto& f : found) out.problems.push_back(name + ":" + std::to_string(f.first) + ": " + f.second);
    return out;
}

}  // namespace mltrack_cli
