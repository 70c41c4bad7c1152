// Why: listing a JSONL root (experiments, runs) must survive whatever else is in it: a symbolic link loop,
// a folder without permission, an entry removed meanwhile. Such an entry is skipped and described, never
// thrown as std::filesystem::filesystem_error, so one bad entry does not hide every good one.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "../names.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The sub-folders of `dir` with a valid name (with `runs`: holding events.jsonl), sorted. An entry that
/// cannot be examined is skipped, with "<path>: <reason>" added to `problems` when given; so is `dir`
/// itself when it exists but cannot be listed. A missing `dir` lists nothing.
inline std::vector<std::string> list_folders(const std::filesystem::path& dir, bool runs,
                                             std::vector<std::string>* problems) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    auto skip = [&](const fs::path& p, const std::error_code& ec) {
        if (problems) problems->push_back(p.string() + ": skipped: " + ec.message());
    };
    std::error_code ec;
    const auto st = fs::status(dir, ec);
    if (ec || !fs::is_directory(st)) {
        if (ec && ec != std::errc::no_such_file_or_directory) skip(dir, ec);
        return out;
    }
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const auto n = it->path().filename().string();
        if (!is_valid_name(n)) continue;
        std::error_code ec2;
        const bool folder = fs::is_directory(fs::status(it->path(), ec2));
        if (ec2) {
            if (ec2 != std::errc::no_such_file_or_directory) skip(it->path(), ec2);  // a dangling link is no folder
            continue;
        }
        if (!folder) continue;
        if (runs) {
            const bool has_events = fs::exists(it->path() / "events.jsonl", ec2);
            if (ec2) {
                skip(it->path(), ec2);
                continue;
            }
            if (!has_events) continue;
        }
        out.push_back(n);
    }
    if (ec) skip(dir, ec);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
