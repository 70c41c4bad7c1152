// Why: one TensorBoard event file, written the way TensorBoard's readers need it. A new file for every opening
// (never an append, so a crash's torn record is never followed by new bytes), created exclusively with a name
// that sorts after every event file already in the folder (TensorBoard's Python reader reads a run's files in
// name order and never goes back), and written one buffer of complete records per write(), cut back to the
// last complete buffer when a write fails or is short.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../error.hpp"
#include "../sink_files.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// Whether `dir` directly holds an event file (a file TensorBoard reads: "tfevents" in its name).
inline bool has_event_file(const std::filesystem::path& dir) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().find("tfevents") != std::string::npos && it->is_regular_file(ec)) return true;
    return false;
}

/// Host names in file names: letters, digits, '-', '_' and '.' (others become '_'), at most 64 bytes.
inline std::string sanitize_host(const std::string& h) {
    std::string out;
    for (char c : h) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    if (out.empty()) out = "localhost";
    return out.substr(0, 64);
}

/// Thrown (and caught) by the sink when a run folder was removed while its file is open.
struct folder_gone {};

class event_file {
public:
    std::string buf;                  ///< complete records not yet written
    std::size_t buffered_records = 0; ///< how many records `buf` holds
    std::uint64_t generation = 0;     ///< bumped whenever the buffer is emptied

    event_file() = default;
    event_file(const event_file&) = delete;
    event_file& operator=(const event_file&) = delete;
    ~event_file() { close(); }

    bool is_open() const noexcept { return fd_ >= 0; }
    bool broken() const noexcept { return broken_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    /// The name the file takes when committed: path(), or for a staged file its name with "tfevents".
    const std::filesystem::path& final_path() const noexcept { return final_; }

    /// A staged file's name: "tfstaged" for "tfevents", which TensorBoard does not read.
    static std::string staged_name(std::string name) {
        const auto at = name.find("tfevents");
        if (at != std::string::npos) name.replace(at, 8, "tfstaged");
        return name;
    }

    /// Creates a new event file in `dir` (and the folder): <prefix>.<10-digit seconds>.<host>.<pid>.<n>, its
    /// name sorting after every event file there (staged ones too), created with O_EXCL; `staged`: under
    /// staged_name() until the caller renames it. Throws io.20 / io.21.
    void create(const std::filesystem::path& dir, std::int64_t time_ns, const std::string& host, bool staged = false) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw error(error_category::io, 20, "cannot create TensorBoard run folder " + dir.string() + ": " + ec.message());
        std::string latest;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            std::string n = entry.path().filename().string();
            const auto at = n.find("tfstaged");
            if (at != std::string::npos) n.replace(at, 8, "tfevents");
            if (n.find("tfevents") != std::string::npos && n > latest) latest = n;
        }
        std::int64_t secs = std::max<std::int64_t>(time_ns / 1000000000, 1);  // 0 is the session file's
        for (int attempt = 0;; ++attempt) {
            const std::string file = name(secs, next_counter(), host);
            if (!latest.empty() && !(file > latest)) {
                // Same second and a counter that sorts lower (".10" < ".9"), or a clock behind an earlier
                // writer: move past the latest file's seconds.
                secs = std::max(secs, seconds_of(latest)) + 1;
                continue;
            }
            final_ = dir / file;
            path_ = staged ? dir / staged_name(file) : final_;
            fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd_ >= 0) break;
            if (errno != EEXIST || attempt > 100)
                throw error(error_category::io, 21, "cannot create event file " + path_.string() + ": " + std::strerror(errno));
        }
        committed_ = 0;
        broken_ = false;
    }

    /// Writes the buffer with one write(). A failed or short write is cut back to the last complete buffer
    /// (else the file is marked broken: the caller continues in a new file). Counts and throws io.22 / io.23.
    void write_out(bool sync, std::uint64_t& records_lost) {
        if (fd_ < 0) return;
        if (!buf.empty()) {
            const auto r = append_committed(fd_, buf, committed_);
            const auto lost = buffered_records;
            clear_buffer();
            if (!r.ok) {
                if (!r.cut_back) broken_ = true;
                records_lost += lost;
                throw error(error_category::io, 22,
                            "cannot write " + path_.string() + ": " + std::strerror(r.error) + " (" +
                                std::to_string(lost) + " records lost)");
            }
        }
        if (sync && ::fdatasync(fd_) != 0)
            throw error(error_category::io, 23, "cannot sync " + path_.string() + ": " + std::strerror(errno));
    }

    void clear_buffer() noexcept {
        buf.clear();
        buffered_records = 0;
        ++generation;
    }

    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    static std::string name(std::int64_t secs, std::uint64_t n, const std::string& host) {
        char head[48];
        std::snprintf(head, sizeof head, "events.out.tfevents.%010lld.", static_cast<long long>(secs));
        return head + host + "." + std::to_string(static_cast<long long>(::getpid())) + "." + std::to_string(n);
    }

    static std::int64_t seconds_of(const std::string& file) {
        const std::string prefix = "events.out.tfevents.";
        const auto at = file.find(prefix);
        if (at == std::string::npos) return 0;
        std::int64_t s = 0;
        for (std::size_t i = at + prefix.size(); i < file.size() && file[i] >= '0' && file[i] <= '9'; ++i)
            s = s * 10 + (file[i] - '0');
        return s;
    }

    /// A process-wide counter, as TensorBoard's own writer has, so two sinks never pick one name.
    static std::uint64_t next_counter() {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed);
    }

    int fd_ = -1;
    std::filesystem::path path_, final_;
    std::uint64_t committed_ = 0;
    bool broken_ = false;
};

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
