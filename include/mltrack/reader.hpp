// Why: the JSONL files are the source of truth, so reading them back is part of the library, not a tool.
// read_run() returns every record (the same record model the tracker writes, so a run can be replayed
// into any sink) and the folded state of the run: params, latest summary metrics, time series, artifacts,
// executions, state. A torn last line (a crash mid-write) is reported and skipped; anything else malformed
// is an error naming the file and line.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/listing.hpp"
#include "error.hpp"
#include "names.hpp"
#include "record.hpp"
#include "record_stream.hpp"
#include "run_data.hpp"

MLTRACK_NAMESPACE_BEGIN

namespace detail {
inline run_data read_events_file(const std::filesystem::path& file, const read_options& options);
}  // namespace detail

/// The events files of a run folder by rank: (0, events.jsonl) when it exists, then (r, events.rank-<r>.jsonl)
/// for every rank r > 0 that wrote one (rank_policy::every), sorted by rank.
inline std::vector<std::pair<int, std::filesystem::path>> rank_files(const std::filesystem::path& run_dir) {
    namespace fs = std::filesystem;
    std::vector<std::pair<int, fs::path>> out;
    std::error_code ec;
    for (fs::directory_iterator it(run_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const int r = detail::events_file_rank(it->path().filename().string());
        std::error_code ec2;
        if (r >= 0 && it->is_regular_file(ec2)) out.emplace_back(r, it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Reads a run from its folder: events.jsonl and, for a run logged by every rank of a job
/// (rank_policy::every), each events.rank-<r>.jsonl into `ranks`. Given a file, reads that file only.
inline run_data read_run(const std::filesystem::path& path, const read_options& options = {}) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return detail::read_events_file(path, options);  // a loop: io.4 there
    run_data run = detail::read_events_file(path / "events.jsonl", options);
    for (const auto& o : rank_files(path))
        if (o.first > 0) run.ranks.push_back(detail::read_events_file(o.second, options));
    return run;
}

namespace detail {

inline run_data read_events_file(const std::filesystem::path& file, const read_options& options) {
    run_data kept;
    run_data run = stream_run(file, options, [&](const record& r, const run_data&, std::size_t) {
        keep_record(kept, record(r));
    });
    run.records = std::move(kept.records);
    run.series = std::move(kept.series);
    run.histograms = std::move(kept.histograms);
    run.classifications = std::move(kept.classifications);
    return run;
}

}  // namespace detail

/// Reads every run of an experiment under a JSONL root, sorted by run name. An entry that cannot be
/// examined (a symbolic link loop, no permission) is skipped and described in `problems` when given.
inline std::vector<run_data> read_experiment(const std::filesystem::path& root, std::string_view experiment,
                                             const read_options& options = {},
                                             std::vector<std::string>* problems = nullptr) {
    namespace fs = std::filesystem;
    validate_name("experiment name", experiment);
    const fs::path dir = root / std::string(experiment);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw error(error_category::io, 5, "experiment folder " + dir.string() + " does not exist");
    std::vector<run_data> out;
    for (const auto& r : detail::list_folders(dir, true, problems)) out.push_back(read_run(dir / r, options));
    return out;
}

MLTRACK_NAMESPACE_END
