// Why: before a sync, an upload or an analysis, `mltrack check PATH` says whether the files are sound and,
// if not, exactly where: "file:line: problem" for JSONL runs, "file:offset N: problem" for TensorBoard event
// files. Exit status 0 means every file under PATH is clean.
#pragma once

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "check_artifacts.hpp"
#include "check_jsonl.hpp"
#include "check_tensorboard.hpp"
#include "cli.hpp"
#include "runs.hpp"

namespace mltrack_cli {

inline const char* const check_help =
    R"(usage: mltrack check [PATH] [--verify-artifacts] [--max-problems N] [--quiet]

Validates every JSONL run file (events.jsonl, events.rank-<r>.jsonl) and TensorBoard event file (*tfevents*) under PATH, which may be
a file, a run folder, an experiment folder or a root (searched recursively, following symlinked folders;
default ./mlruns).

JSONL: every line is read by the library's reader (JSON, kinds, fields and their types, format version,
artifact paths); every bad line is reported, not only the first. Also: a torn last line, records after a
run_end without a run_resume, folders not named after the run_start line, artifact copies missing, of
the wrong kind or size (files, and folders: the sum of their files; --verify-artifacts also compares their
SHA-256), checked against the latest record of each copy.
TensorBoard: TFRecord framing, both CRCs of every record, truncation, each event a well-formed protobuf
message, file_version in the first event.

Problems go to stderr, one per line, as "file:line: problem" (JSONL) or "file:offset N: problem"
(TensorBoard); a summary line goes to stdout.

options:
      --verify-artifacts   also recompute the SHA-256 of artifact copies
      --max-problems N     report at most N problems per file (default 50; 0: all)
  -q, --quiet              no summary line
  -h, --help               this help

exit status: 0 every file is clean; 1 a problem was found (or nothing to check under PATH); 2 usage error.
)";

inline int cmd_check(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(
        argv, {{"--verify-artifacts", nullptr, false}, {"--max-problems", nullptr, true}, {"--quiet", "-q", false}});
    if (args.has("--help")) {
        std::fputs(check_help, stdout);
        return exit_ok;
    }
    std::size_t max_problems = 50;
    if (args.has("--max-problems")) {
        const std::string v = args.get("--max-problems");
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
            throw usage_error("--max-problems needs a number");
        max_problems = std::stoul(v);
    }
    const fs::path path = root_argument(args.positional, "check");
    std::error_code ec;
    if (!fs::exists(path, ec)) throw command_error(path.string() + ": no such file or folder");

    std::vector<fs::path> jsonl, tensorboard;
    if (fs::is_directory(path, ec)) {
        // Symlinked run and experiment folders are followed, as `ls` and `export` do; a folder reached
        // twice (a link loop, or two links to one run) is checked once.
        std::set<fs::path> visited{fs::canonical(path, ec)};
        for (fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, ec), end;
             !ec && it != end; it.increment(ec)) {
            std::error_code ec2;
            if (it->is_directory(ec2)) {
                if (!visited.insert(fs::canonical(it->path(), ec2)).second || ec2) it.disable_recursion_pending();
                continue;
            }
            if (!it->is_regular_file(ec2)) continue;
            if (mltrack::detail::events_file_rank(it->path().filename().string()) >= 0) jsonl.push_back(it->path());
            else if (is_tensorboard_file(it->path())) tensorboard.push_back(it->path());
        }
        if (ec) throw command_error("cannot list " + path.string() + ": " + ec.message());
    } else if (is_tensorboard_file(path)) {
        tensorboard.push_back(path);
    } else {
        jsonl.push_back(path);
    }
    std::sort(jsonl.begin(), jsonl.end());
    std::sort(tensorboard.begin(), tensorboard.end());
    if (jsonl.empty() && tensorboard.empty()) {
        std::fprintf(stderr, "mltrack check: no events.jsonl or TensorBoard event file under %s\n",
                     path.string().c_str());
        return exit_problem;
    }

    std::vector<file_check> results(jsonl.size() + tensorboard.size());
    const bool verify = args.has("--verify-artifacts");
    std::uint64_t bytes = 0;
    for (const auto& f : jsonl) bytes += static_cast<std::uint64_t>(fs::file_size(f, ec));
    read_progress progress("mltrack check", bytes);
    parallel_for(results.size(), [&](std::size_t i) {
        try {
            results[i] = i < jsonl.size() ? check_jsonl(jsonl[i], verify, &progress)
                                          : check_tensorboard(tensorboard[i - jsonl.size()]);
        } catch (const std::exception& e) {
            results[i].problems.push_back(one_line(describe(e)));
        }
    });
    progress.clear();
    std::size_t problems = 0, bad_files = 0, lines = 0, records = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        (i < jsonl.size() ? lines : records) += r.lines;
        if (r.problems.empty()) continue;
        ++bad_files;
        problems += r.problems.size();
        const std::size_t shown = max_problems ? std::min(max_problems, r.problems.size()) : r.problems.size();
        for (std::size_t k = 0; k < shown; ++k) std::fprintf(stderr, "%s\n", one_line(r.problems[k]).c_str());
        if (shown < r.problems.size())
            std::fprintf(stderr, "%s: %zu more problems not shown (--max-problems 0 shows all)\n",
                         one_line((i < jsonl.size() ? jsonl[i] : tensorboard[i - jsonl.size()]).string()).c_str(),
                         r.problems.size() - shown);
    }
    if (!args.has("--quiet")) {
        std::printf("checked %zu JSONL run%s (%zu lines) and %zu TensorBoard file%s (%zu records): ", jsonl.size(),
                    jsonl.size() == 1 ? "" : "s", lines, tensorboard.size(), tensorboard.size() == 1 ? "" : "s",
                    records);
        if (problems == 0) std::printf("no problems\n");
        else std::printf("%zu problem%s in %zu file%s\n", problems, problems == 1 ? "" : "s", bad_files,
                         bad_files == 1 ? "" : "s");
    }
    return problems == 0 ? exit_ok : exit_problem;
}

}  // namespace mltrack_cli
