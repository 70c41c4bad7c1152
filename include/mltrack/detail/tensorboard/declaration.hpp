// Why: a declared hparams experiment (tensorboard_options::experiment) fixes the HParams columns, but
// TensorBoard applies the first declaration it finds to every run under the --logdir it is given, showing the
// runs of other experiments with the declared columns only and hiding their own params and metrics. So a
// declaration is kept only while its logdir holds no other experiment: it is written when there is none, and
// withdrawn (renamed to a name TensorBoard does not read) when another experiment's run opens there. Both
// cases are reported as value.21, and TensorBoard then infers every column.
#pragma once

#include <filesystem>
#include <string>

#include "../../error.hpp"
#include "format.hpp"
#include "session.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// Whether a folder holds an event file at any depth.
inline bool holds_event_files(const std::filesystem::path& dir) {
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().find("tfevents") != std::string::npos) return true;
    return false;
}

/// Writes <logdir>/<experiment>/declaration_file_name unless it is there (an earlier process wrote it).
/// Throws value.21 when the logdir holds another experiment's event files, io.24 when it cannot write.
inline void write_declaration(const std::filesystem::path& logdir, const std::string& experiment,
                              const tensorboard_experiment& declared, double wall_time, const std::string& writer,
                              bool sync) {
    const std::filesystem::path dir = logdir / experiment;
    std::error_code ec;
    if (std::filesystem::exists(dir / declaration_file_name, ec)) return;
    for (std::filesystem::directory_iterator it(logdir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string other = it->path().filename().string();
        if (other != experiment && it->is_directory(ec) && holds_event_files(it->path()))
            throw error(error_category::value, 21,
                        "the declared hparams experiment of '" + experiment + "' is not written: " + logdir.string() +
                            " also holds experiment '" + other +
                            "', whose runs TensorBoard would show with its columns; use one logdir per declared experiment");
    }
    std::filesystem::create_directories(dir, ec);
    std::string bytes;
    file_version_record(bytes, wall_time, writer);
    auto ev = begin_summary(bytes, wall_time, 0);
    value_hparams(bytes, "_hparams_/experiment", hparams_experiment(declared));
    end_summary(bytes, ev);
    replace_file(dir, declaration_file_name, bytes, sync);
}

/// Withdraws the declarations of every experiment of `logdir` but `experiment`; throws value.21 naming them.
inline void withdraw_other_declarations(const std::filesystem::path& logdir, const std::string& experiment) {
    std::string withdrawn;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(logdir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string other = it->path().filename().string();
        const auto file = it->path() / declaration_file_name;
        if (other == experiment || !std::filesystem::exists(file, ec)) continue;
        std::filesystem::rename(file, it->path() / "mltrack-experiment.withdrawn", ec);
        if (!ec) withdrawn += (withdrawn.empty() ? "'" : ", '") + other + "'";
    }
    if (!withdrawn.empty())
        throw error(error_category::value, 21,
                    "the declared hparams experiment of " + withdrawn + " in " + logdir.string() +
                        " is withdrawn (renamed mltrack-experiment.withdrawn): TensorBoard would show the runs of '" +
                        experiment + "' with its columns; use one logdir per declared experiment");
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
