// Why: the bodies of store.hpp's functions, apart so that in compiled mode (detail/compiled.hpp) they are
// compiled once and a translation unit that does not call them instantiates nothing for them.
#pragma once

#include "store.hpp"

MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE std::vector<std::string> list_experiments(const std::filesystem::path& root,
                                                 std::vector<std::string>* problems) {
    return detail::list_folders(root, false, problems);
}

MLTRACK_INLINE std::vector<std::string> list_runs(const std::filesystem::path& root, std::string_view experiment,
                                          std::vector<std::string>* problems) {
    validate_name("experiment name", experiment);
    return detail::list_folders(root / std::string(experiment), true, problems);
}

MLTRACK_INLINE run_data read_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run,
                         const read_options& options) {
    return read_run(sinks::jsonl::run_dir(root, experiment, run), options);
}

MLTRACK_INLINE void delete_run(const std::filesystem::path& root, std::string_view experiment, std::string_view run) {
    namespace fs = std::filesystem;
    const auto dir = sinks::jsonl::run_dir(root, experiment, run);
    std::error_code ec;
    if (!fs::exists(dir / "events.jsonl", ec))
        throw error(error_category::state, 2, "run '" + std::string(run) + "' does not exist in experiment '" +
                                                  std::string(experiment) + "'");
    fs::remove_all(dir, ec);
    if (ec) throw error(error_category::io, 6, "cannot delete " + dir.string() + ": " + ec.message());
}

MLTRACK_INLINE void delete_experiment(const std::filesystem::path& root, std::string_view experiment) {
    namespace fs = std::filesystem;
    validate_name("experiment name", experiment);
    const auto dir = root / std::string(experiment);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw error(error_category::state, 7, "experiment '" + std::string(experiment) + "' does not exist");
    fs::remove_all(dir, ec);
    if (ec) throw error(error_category::io, 6, "cannot delete " + dir.string() + ": " + ec.message());
}

MLTRACK_INLINE std::filesystem::path load_model(const std::filesystem::path& root, std::string_view experiment,
                                        std::string_view run, std::string_view model_name) {
    const auto data = read_run(root, experiment, run);
    for (auto it = data.artifacts.rbegin(); it != data.artifacts.rend(); ++it)
        if (it->name == model_name && it->type == artifact_type::model) return data.artifact_path(*it);
    throw error(error_category::state, 8, "run '" + std::string(run) + "' has no model named '" +
                                              detail::printable(model_name) + "'");
}

MLTRACK_NAMESPACE_END
