// Why: the bodies of summary.hpp's functions, apart so that in compiled mode (detail/compiled.hpp) they are
// compiled once and a translation unit that does not call them instantiates nothing for them.
#pragma once

#include "summary.hpp"

MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE run_summary read_summary(const std::filesystem::path& path, const read_options& options) {
    auto none = [](std::string_view, std::int64_t, std::int64_t, double) {};
    run_summary s = scan_run(path, options, none);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        for (const auto& f : rank_files(path))
            if (f.first > 0) s.ranks.push_back(scan_run(f.second, options, none));
    return s;
}

MLTRACK_NAMESPACE_END
