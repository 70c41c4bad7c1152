// Why: a run's artifacts/ folder must hold what its records say. A copy can be missing, damaged by hand,
// or left behind by a kill in the middle of a re-log (the earlier copy set aside under a hidden name).
// Only the latest record of each copy's path is compared, since re-logging a name replaces its copy.
// Plain `check` compares what costs a stat per file: presence, kind (file or folder) and size (a folder's
// is the sum of its files, links followed as when it was stored); --verify-artifacts also recomputes the
// SHA-256 (a read of every byte).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <mltrack/detail/files.hpp>
#include <mltrack/reader.hpp>

#include "runs.hpp"

namespace mltrack_cli {

namespace artifacts_impl {

struct recorded {
    std::size_t line = 0;
    std::string where;  ///< "" or "execution 'x' input "
    mltrack::artifact a;
};

/// Size of a file, or the sum over a folder's files (links followed, as detail::digest_path).
inline std::uint64_t stored_size(const fs::path& p, bool directory) {
    if (!directory) return fs::file_size(p);
    std::uint64_t n = 0;
    for (const auto& e : mltrack::detail::tree_of(p))
        if (!e.directory) n += fs::file_size(e.at);
    return n;
}

/// What is wrong with one copy ("" when nothing).
inline std::string problem_of(const fs::path& run_dir, const mltrack::artifact& a, bool verify_digests) {
    const fs::path p = run_dir / a.path;
    const fs::path aside = mltrack::detail::aside_path(p);
    const std::string aside_rel = (fs::path(a.path).parent_path() / aside.filename()).generic_string();
    const bool has_aside = mltrack::detail::present(aside);
    if (!mltrack::detail::present(p))
        return "its copy " + a.path + " is missing" +
               (has_aside ? "; a replacement was interrupted and the previous copy is at " + aside_rel +
                                " (log the artifact again, or rename it back)"
                          : "");
    try {
        std::error_code ec;
        const bool directory = fs::is_directory(p, ec);
        if (directory != a.directory)
            return a.path + " is a " + (directory ? "folder" : "file") + ", the record says a " +
                   (a.directory ? "folder" : "file");
        std::string wrong;
        if (a.size != 0 || !a.sha256.empty()) {
            const auto size = stored_size(p, directory);
            if (size != a.size)
                wrong = a.path + " has " + std::to_string(size) + " bytes, the record says " + std::to_string(a.size);
        }
        if (wrong.empty() && verify_digests && !a.sha256.empty()) {
            const auto d = mltrack::detail::digest_path(p);
            if (d.sha256 != a.sha256) wrong = a.path + " has SHA-256 " + d.sha256 + ", the record says " + a.sha256;
        }
        if (!wrong.empty() && has_aside)
            wrong += " (a replacement was interrupted: the previous copy is at " + aside_rel + ")";
        return wrong;
    } catch (const std::exception& e) {
        return describe(e);
    }
}

}  // namespace artifacts_impl

/// The latest record of each artifact copy of a run (by the copy's path), noted as the run's records go
/// by; problems() then compares each with the run folder.
class artifact_records {
public:
    /// Notes artifact `a`, recorded on `line`; `where` is "" or "execution 'x' input ".
    void note(const mltrack::artifact& a, std::string where, std::size_t line) {
        if (!a.path.empty()) latest_[a.path] = artifacts_impl::recorded{line, std::move(where), a};
    }

    /// (line, "artifact 'x': problem") for each copy that does not match its latest record, by line.
    std::vector<std::pair<std::size_t, std::string>> problems(const fs::path& run_dir, bool verify_digests) const {
        std::vector<std::pair<std::size_t, std::string>> found;
        for (const auto& kv : latest_) {
            const auto& r = kv.second;
            const auto p = artifacts_impl::problem_of(run_dir, r.a, verify_digests);
            if (!p.empty()) found.emplace_back(r.line, r.where + "artifact '" + r.a.name + "': " + p);
        }
        std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        return found;
    }

private:
    std::map<std::string, artifacts_impl::recorded> latest_;
};

}  // namespace mltrack_cli
