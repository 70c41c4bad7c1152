// Why: the file sinks (JSONL, TensorBoard) share three mechanisms: the run folder under a root (names are
// validated, so it never escapes), writing a buffer of complete records with one write() and cutting a
// failed or short write back to the last complete buffer (so a torn record is never followed by new data),
// and doing one thing per open file while collecting every failure into one report.
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sys/types.h>
#include <unistd.h>

#include "../names.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// <root>/<experiment>/<run>, after validating both names.
inline std::filesystem::path run_folder(const std::filesystem::path& root, std::string_view experiment,
                                        std::string_view run) {
    validate_name("experiment name", experiment);
    validate_name("run name", run);
    return root / std::string(experiment) / std::string(run);
}

/// The outcome of append_committed.
struct append_result {
    bool ok = true;        ///< everything was written; `committed` grew by the buffer's size
    int error = 0;         ///< errno of the failure
    bool cut_back = true;  ///< after a failure: the file is back at `committed` bytes (false: it could not be)
};

/// Writes `buf` at the end of the file (one write() unless it is short), retrying on EINTR. On failure the file
/// is truncated back to `committed` and the offset moved there, so what follows starts on a record boundary.
inline append_result append_committed(int fd, std::string_view buf, std::uint64_t& committed) noexcept {
    const char* p = buf.data();
    std::size_t left = buf.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            append_result r;
            r.ok = false;
            r.error = n < 0 ? errno : ENOSPC;
            r.cut_back = ::ftruncate(fd, static_cast<off_t>(committed)) == 0 &&
                         ::lseek(fd, static_cast<off_t>(committed), SEEK_SET) >= 0;
            return r;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    committed += buf.size();
    return {};
}

/// Calls f(item) for every item; failures do not stop the others and are thrown at the end as one error
/// whose message joins theirs.
template <class Range, class F>
void for_each_collecting(Range&& items, F&& f) {
    std::string errors;
    for (auto&& item : items) {
        try {
            f(item);
        } catch (const std::exception& ex) {
            if (!errors.empty()) errors += "; ";
            errors += ex.what();
        }
    }
    if (!errors.empty()) throw std::runtime_error(errors);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
