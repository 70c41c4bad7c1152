// Why: a run's events.jsonl can have two writers at once (a requeued job resumes the run while the old one
// still dies; two trackers resume one run). Each appends whole buffers of lines with O_APPEND, and a write
// that fails part-way must be cut back without touching the other writer's lines: the file's own size at
// the time of the write, not this writer's idea of it, is where the cut goes. Every append (and the cut of a
// torn tail at open) is made under an exclusive flock() on the file, so that between measuring the size,
// writing and cutting back no other writer of this library appends. Where flock() is unavailable (some
// network filesystems), a failed write is cut back only when its bytes are still the file's last ones.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string_view>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Holds flock(LOCK_EX) on a file for its scope (nothing when the filesystem refuses locks).
class file_lock {
public:
    explicit file_lock(int fd) noexcept : fd_(fd) {
        int r;
        do r = ::flock(fd_, LOCK_EX);
        while (r != 0 && errno == EINTR);
        locked_ = r == 0;
    }
    ~file_lock() {
        if (locked_) ::flock(fd_, LOCK_UN);
    }
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    bool locked() const noexcept { return locked_; }

private:
    int fd_;
    bool locked_ = false;
};

/// The outcome of append_shared.
struct shared_append_result {
    bool ok = true;        ///< everything was written
    int error = 0;         ///< errno of the failure
    bool cut_back = true;  ///< after a failure: the bytes this call wrote are gone again (false: they could not be)
};

/// Appends `buf` to a file opened with O_APPEND, under `lock` (held by the caller): one write() unless it is
/// short, retried on EINTR. On failure only the bytes this call wrote are cut away (none were written: nothing
/// is cut), so another writer's lines stay whole.
inline shared_append_result append_shared(int fd, std::string_view buf, const file_lock& lock) noexcept {
    struct stat st {};
    const bool sized = ::fstat(fd, &st) == 0;
    std::uint64_t start = 0;    ///< where this call's first byte went
    std::uint64_t written = 0;  ///< bytes written so far, contiguous from `start`
    bool contiguous = true;
    const char* p = buf.data();
    std::size_t left = buf.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            shared_append_result r;
            r.ok = false;
            r.error = n < 0 ? errno : ENOSPC;
            if (written == 0) return r;  // nothing of ours is in the file
            struct stat now {};
            // Under the lock nobody else appended; without it, cut only when our bytes are still the last.
            const bool ours_last = ::fstat(fd, &now) == 0 && static_cast<std::uint64_t>(now.st_size) == start + written;
            const bool safe = contiguous && ours_last && (lock.locked() || (sized && start >= std::uint64_t(st.st_size)));
            r.cut_back = safe && ::ftruncate(fd, static_cast<off_t>(start)) == 0;
            return r;
        }
        // With O_APPEND the offset after the write is the end of what it wrote.
        const off_t end = ::lseek(fd, 0, SEEK_CUR);
        const std::uint64_t first = end < 0 ? 0 : static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(n);
        if (written == 0) start = first;
        else if (first != start + written) contiguous = false;  // another writer appended in between
        written += static_cast<std::uint64_t>(n);
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace detail
MLTRACK_NAMESPACE_END
