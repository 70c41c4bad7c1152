// Why: a JSONL root is a local store of experiments and runs. These functions list, read, delete and find
// artifacts in it without a tracker, the way the Vertex AI SDK lists and deletes experiments and runs.
// Every name is validated, so no call can reach outside the root.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "detail/listing.hpp"
#include "error.hpp"
#include "names.hpp"
#include "reader.hpp"
#include "sinks/jsonl.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Experiments under a JSONL root (folders with a valid name), sorted. An entry that cannot be examined
/// (a symbolic link loop, no permission) is skipped and described in `problems` when given.
inline std::vector<std::string> list_experiments(const std::filesystem::path& root,
                                                 std::vector<std::string>* problems = nullptr) {
    return detail::list_folders(root, false, problems);
}

/// Runs of an experiment (folders holding events.jsonl), sorted. Bad entries as in list_experiments.
inline std::vector<std::string> list_runs(const std::filesystem::path& root, std::string_view experiment,
                                          std::vector<std::string>* problems = nullptr) {
    validate_name("experiment name", experiment);
    return detail::list_folders(root / std::string(experiment), true, problems);
}

/// Reads one run of the store.
inline run_data read_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run,
                         const read_options& options = {}) {
    return read_run(sinks::jsonl::run_dir(root, experiment, run), options);
}

/// Deletes a run's folder (records and artifacts). Throws state.2 when it does not exist. Do not delete a
/// run that a live tracker is still writing.
inline void delete_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run) {
    namespace fs = std::filesystem;
    const auto dir = sinks::jsonl::run_dir(root, experiment, run);
    std::error_code ec;
    if (!fs::exists(dir / "events.jsonl", ec))
        throw error(error_category::state, 2, "run '" + std::string(run) + "' does not exist in experiment '" +
                                                  std::string(experiment) + "'");
    fs::remove_all(dir, ec);
    if (ec) throw error(error_category::io, 6, "cannot delete " + dir.string() + ": " + ec.message());
}

/// Deletes an experiment's folder with all its runs. Throws state.7 when it does not exist.
inline void delete_experiment(const std::filesystem::path& root, std::string_view experiment) {
    namespace fs = std::filesystem;
    validate_name("experiment name", experiment);
    const auto dir = root / std::string(experiment);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw error(error_category::state, 7, "experiment '" + std::string(experiment) + "' does not exist");
    fs::remove_all(dir, ec);
    if (ec) throw error(error_category::io, 6, "cannot delete " + dir.string() + ": " + ec.message());
}

/// The local path of a logged model (the run's copy, or the source of a reference). Throws state.8 when the
/// run has no model of that name.
inline std::filesystem::path load_model(const std::filesystem::path& root, std::string_view experiment,
                                        std::string_view run, std::string_view model_name) {
    const auto data = read_run(root, experiment, run);
    for (auto it = data.artifacts.rbegin(); it != data.artifacts.rend(); ++it)
        if (it->name == model_name && it->type == artifact_type::model) return data.artifact_path(*it);
    throw error(error_category::state, 8, "run '" + std::string(run) + "' has no model named '" +
                                              detail::printable(model_name) + "'");
}

MLTRACK_NAMESPACE_END
