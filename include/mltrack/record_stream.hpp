// Why: an HPC run can hold billions of points, and every tool that walks a run (sync, replay, check,
// export, show) needs each record once, in file order, not all of them at once. stream_run() hands out one
// record at a time with the run's state folded so far, in constant memory (one read block, the current
// record, and the folded params, summary, tags, artifacts and executions). read_run() and scan_run() are
// built on it, so every reader accepts and refuses the same lines.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "detail/jsonl/fast_metrics_line.hpp"
#include "detail/jsonl/fold_line.hpp"
#include "detail/jsonl/line_reader.hpp"
#include "error.hpp"
#include "record.hpp"
#include "run_data.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Reads one events file (or a run folder's events.jsonl, rank 0's) line by line, calling
/// `on_record(const record& r, const run_data& state, std::size_t line)` for every record in file order:
/// `state` is the run folded up to and including `r`, `line` its 1-based line number. The record is only
/// valid during the call. Returns the folded state; `records`, `series`, `histograms` and
/// `classifications` stay empty (the visitor keeps what it needs). Errors, torn tails, skipped lines and
/// problems are those of read_run() with the same options: in strict mode the first malformed line throws
/// format.1 naming file and line; in lenient mode it is reported in `problems` and skipped.
template <class OnRecord>
run_data stream_run(const std::filesystem::path& path, const read_options& options, OnRecord&& on_record) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path file = fs::is_directory(path, ec) ? path / "events.jsonl" : path;
    run_data run;
    run.dir = file.parent_path();

    // Metrics lines of the sink's own shape are scanned into one reused record (no allocation once warm).
    detail::fast_metrics_line fast;
    record metric;
    metric.kind = record_kind::metric;
    metric.payload = named_values<double>{};
    auto& metric_values = std::get<named_values<double>>(metric.payload);
    record general;

    bool first_seen = false;
    std::size_t line_no = 0;
    auto handle = [&](std::string_view text, bool complete, bool oversize) {
        ++line_no;
        const auto where = [&] { return file.string() + ":" + std::to_string(line_no) + ": "; };
        try {
            if (!complete) {  // no '\n': a write cut short, even when it parses
                run.torn_tail = read_problem{line_no, "torn last line (" + std::to_string(text.size()) +
                                                          " bytes) skipped"};
                return;
            }
            if (oversize)
                throw error(error_category::format, 6,
                            where() + "line longer than " + std::to_string(options.max_line_bytes) + " bytes");
            if (line_no > 1 && first_seen && fast.parse(text)) {
                metric.time_ns = fast.time_ns;
                metric.step = fast.step;
                metric_values.resize(fast.values.size());
                for (std::size_t i = 0; i < fast.values.size(); ++i) {
                    metric_values[i].first.assign(fast.values[i].first.data(), fast.values[i].first.size());
                    metric_values[i].second = fast.values[i].second;
                }
                on_record(static_cast<const record&>(metric), static_cast<const run_data&>(run), line_no);
                return;
            }
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(text.begin(), text.end());
            } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
                throw detail::line_error{std::string("malformed JSON: ") + e.what()};
            }
            const bool known = detail::fold_line(run, j, line_no, general);
            first_seen = true;
            if (known) on_record(static_cast<const record&>(general), static_cast<const run_data&>(run), line_no);
        } catch (const detail::line_error& e) {
            if (options.strict || line_no == 1)
                throw error(error_category::format, line_no == 1 ? 2 : 1, where() + e.message);
            run.problems.push_back(read_problem{line_no, e.message});
        } catch (const error& e) {
            if (options.strict || line_no == 1) throw;
            run.problems.push_back(read_problem{line_no, e.what()});
        }
    };
    run.lines = detail::for_each_line(file, options, handle);
    if (!first_seen) throw error(error_category::format, 3, file.string() + ": no run_start line (empty run file)");
    return run;
}

MLTRACK_NAMESPACE_END
