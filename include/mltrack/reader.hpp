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

#include "detail/compiled.hpp"
#include "detail/listing.hpp"
#include "error.hpp"
#include "names.hpp"
#include "record.hpp"
#include "record_stream.hpp"
#include "run_data.hpp"

MLTRACK_NAMESPACE_BEGIN

namespace detail {
MLTRACK_INLINE run_data read_events_file(const std::filesystem::path& file, const read_options& options);
}  // namespace detail

/// The events files of a run folder by rank: (0, events.jsonl) when it exists, then (r, events.rank-<r>.jsonl)
/// for every rank r > 0 that wrote one (rank_policy::every), sorted by rank.
MLTRACK_INLINE std::vector<std::pair<int, std::filesystem::path>> rank_files(const std::filesystem::path& run_dir);

/// Reads a run from its folder: events.jsonl and, for a run logged by every rank of a job
/// (rank_policy::every), each events.rank-<r>.jsonl into `ranks`. Given a file, reads that file only.
MLTRACK_INLINE run_data read_run(const std::filesystem::path& path, const read_options& options = {});

/// Reads every run of an experiment under a JSONL root, sorted by run name. An entry that cannot be
/// examined (a symbolic link loop, no permission) is skipped and described in `problems` when given.
MLTRACK_INLINE std::vector<run_data> read_experiment(const std::filesystem::path& root, std::string_view experiment,
                                             const read_options& options = {},
                                             std::vector<std::string>* problems = nullptr);

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "reader-inl.hpp"
#endif
