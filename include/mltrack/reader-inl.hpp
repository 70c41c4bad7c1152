// Why: the bodies of the JSONL reader's functions (read_run, rank files, experiments), apart so that in compiled
// mode (detail/compiled.hpp) they are compiled once and stream_run is not instantiated in every translation unit.
#pragma once

#include "reader.hpp"

MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE std::vector<std::pair<int, std::filesystem::path>> rank_files(const std::filesystem::path& run_dir) {
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

MLTRACK_INLINE run_data read_run(const std::filesystem::path& path, const read_options& options) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return detail::read_events_file(path, options);  // a loop: io.4 there
    run_data run = detail::read_events_file(path / "events.jsonl", options);
    for (const auto& o : rank_files(path))
        if (o.first > 0) run.ranks.push_back(detail::read_events_file(o.second, options));
    return run;
}
namespace detail {

MLTRACK_INLINE run_data read_events_file(const std::filesystem::path& file, const read_options& options) {
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

MLTRACK_INLINE std::vector<run_data> read_experiment(const std::filesystem::path& root, std::string_view experiment,
                                             const read_options& options,
                                             std::vector<std::string>* problems) {
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
