// Why: a JSONL root is a local store of experiments and runs. These functions list, read, delete and find
// artifacts in it without a tracker, the way the Vertex AI SDK lists and deletes experiments and runs.
// Every name is validated, so no call can reach outside the root.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "detail/compiled.hpp"
#include "detail/listing.hpp"
#include "error.hpp"
#include "names.hpp"
#include "reader.hpp"
#include "sinks/jsonl.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Experiments under a JSONL root (folders with a valid name), sorted. An entry that cannot be examined
/// (a symbolic link loop, no permission) is skipped and described in `problems` when given.
MLTRACK_INLINE std::vector<std::string> list_experiments(const std::filesystem::path& root,
                                                 std::vector<std::string>* problems = nullptr);

/// Runs of an experiment (folders holding events.jsonl), sorted. Bad entries as in list_experiments.
MLTRACK_INLINE std::vector<std::string> list_runs(const std::filesystem::path& root, std::string_view experiment,
                                          std::vector<std::string>* problems = nullptr);

/// Reads one run of the store.
MLTRACK_INLINE run_data read_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run,
                         const read_options& options = {});

/// Deletes a run's folder (records and artifacts). Throws state.2 when it does not exist. Do not delete a
/// run that a live tracker is still writing.
MLTRACK_INLINE void delete_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run);

/// Deletes an experiment's folder with all its runs. Throws state.7 when it does not exist.
MLTRACK_INLINE void delete_experiment(const std::filesystem::path& root, std::string_view experiment);

/// The local path of a logged model (the run's copy, or the source of a reference). Throws state.8 when the
/// run has no model of that name.
MLTRACK_INLINE std::filesystem::path load_model(const std::filesystem::path& root, std::string_view experiment,
                                        std::string_view run, std::string_view model_name);

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "store-inl.hpp"
#endif
