// Why: a run's file can be many GB. Reading it in large blocks with read(2) and handing each line out as a
// view into the block (copying only a line cut by a block boundary) keeps memory at one block plus the
// longest line, whatever the file's length, and costs one memchr per line.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../error.hpp"
#include "../../run_data.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Calls `handle(std::string_view text, bool complete, bool oversize)` for every line of `file`, in order,
/// without its '\n'. `complete` is false for a last line without '\n' (a torn write); `oversize` is true
/// for a line longer than options.max_line_bytes (its bytes are not kept: `text` is empty). Reports
/// progress through options.progress after each block. Returns the number of lines. Throws io.4 when the
/// file cannot be opened or read.
template <class Handle>
std::size_t for_each_line(const std::filesystem::path& file, const read_options& options, Handle&& handle) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw error(error_category::io, 4, "cannot open " + file.string() + ": " + std::strerror(errno));
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};
    std::uint64_t total = 0, done = 0;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) total = static_cast<std::uint64_t>(st.st_size);

    std::size_t lines = 0;
    // 1 MiB blocks, or less for a small file (a root of many short runs); not zeroed.
    const std::size_t block = total + 1 < (1u << 20) ? std::max<std::size_t>(4096, total + 1) : (1u << 20);
    std::unique_ptr<char[]> buf(new char[block]);
    std::string pending;  // a line cut by a block boundary
    bool too_long = false;
    for (;;) {
        const ssize_t got = ::read(fd, buf.get(), block);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw error(error_category::io, 4, "cannot read " + file.string() + ": " + std::strerror(errno));
        if (got == 0) break;
        const char* p = buf.get();
        const char* e = p + got;
        while (p < e) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
            if (!nl) {
                if (!too_long) pending.append(p, static_cast<std::size_t>(e - p));
                if (pending.size() > options.max_line_bytes) {
                    too_long = true;
                    pending.clear();
                    pending.shrink_to_fit();
                }
                break;
            }
            ++lines;
            if (too_long) {
                handle(std::string_view(), true, true);
                too_long = false;
            } else if (!pending.empty()) {
                pending.append(p, static_cast<std::size_t>(nl - p));
                handle(std::string_view(pending), true, pending.size() > options.max_line_bytes);
                pending.clear();
            } else {
                const auto n = static_cast<std::size_t>(nl - p);
                handle(std::string_view(p, n), true, n > options.max_line_bytes);
            }
            p = nl + 1;
        }
        done += static_cast<std::uint64_t>(got);
        if (options.progress) options.progress(done, total);
    }
    if (too_long || !pending.empty()) {
        ++lines;
        handle(std::string_view(pending), false, too_long);
    }
    return lines;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
