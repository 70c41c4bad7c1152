// Why: the local, offline, lossless source of truth. One folder per run, <root>/<experiment>/<run>/, with
// events.jsonl (one JSON object per line, format in docs/format.md) and artifacts/. Lines are formatted by
// hand into a per-run buffer and written with one write() per buffer, under a lock on the file (it may have
// another writer: detail/jsonl/shared_file.hpp); a failed or partial write is cut back to where it began, so
// a file never holds a torn line followed by new data, and a resumed run first removes a torn last line left
// by a crash. A run's opening line is written when the run opens; a run whose opening could not be written
// gets no line at all (its lines are counted lost), so a file never holds points without their opening.
// No line is longer than the readers accept (detail/jsonl/line_limit.hpp).
#pragma once

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../detail/compiled.hpp"
#include "../detail/files.hpp"
#include "../detail/jsonl/jsonl_format.hpp"
#include "../detail/jsonl/line_limit.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "../record.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

struct jsonl_options {
    bool fsync = false;                  ///< fdatasync after every flush (survives power loss, costs latency)
    std::size_t buffer_bytes = 1u << 18; ///< a run's buffer is written out when it grows past this
    /// The longest line written ('\n' included); longer params, summary and tags records are split into
    /// several lines, other records are not written (io.18). Keep it at most the readers' max_line_bytes.
    std::size_t max_line_bytes = detail::jsonl_max_line_bytes;
};

class jsonl {
public:
    /// `root` is made absolute here, once: a chdir() while runs are open changes nothing.
    explicit jsonl(std::filesystem::path root, jsonl_options options = {});

    jsonl(jsonl&&) noexcept = default;
    jsonl& operator=(jsonl&&) noexcept = default;
    jsonl(const jsonl&) = delete;
    jsonl& operator=(const jsonl&) = delete;
    ~jsonl();

    std::string_view name() const { return "jsonl"; }
    const std::filesystem::path& root() const noexcept { return root_; }

    /// The folder of a run: <root>/<experiment>/<run> (names are validated, so it stays under root).
    static std::filesystem::path run_dir(const std::filesystem::path& root, std::string_view experiment,
                                         std::string_view run);

    bool exists(const run_info& run) const;

    /// start_run's check on the caller's thread (safe from any thread: it touches only the filesystem):
    /// whether the run's file exists; with `create`, the file is made when it does not, exclusively
    /// (O_EXCL), so that of two processes creating one run at once exactly one gets false. The empty file
    /// gets its run_start line when the writer opens the run. Throws io.11 / io.12.
    bool claim(const run_info& run, bool create) const;

    /// The highest step of each metric in the run's file (for a resumed run's steps; nullopt without a file).
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) const;

    void write(const batch& b);

    void flush();

    void close();

    /// Lines that could not be written (disk full, folder removed...), over the sink's life.
    std::uint64_t lines_lost() const noexcept { return lines_lost_; }

private:
    struct run_file {
        int fd = -1;
        bool dead = false;  ///< its opening line could not be written: nothing more of the run is (lines lost)
        std::filesystem::path dir;
        std::filesystem::path path;
        std::string buf;
        std::size_t buffered_lines = 0;
        bool line_open = false;       ///< a "metrics" line is open and can take more values
        std::size_t open_line_at = 0; ///< where the open line starts in buf
        std::int64_t open_step = 0;
        std::int64_t open_time = 0;
        std::vector<std::uint32_t> open_metrics;  ///< metric ids in the open line (a key appears once per line)
    };

    void write_one(const event& e);

    /// "<key as a JSON string>:" of a metric, cached by id (checked against the name: replay reuses ids).
    const std::string& escaped_key(const metric_info& m);

    void open_run(const run_info& run);

    /// A run whose opening failed: its file is closed, its later lines are formatted and counted as lost.
    static void kill(run_file& f) noexcept;

    /// After a failed opening: an events file left empty (made by start_run's claim, or just now) is removed,
    /// so that the run does not exist and can be started again. Only an empty file is removed.
    static void remove_if_empty(const run_file& f) noexcept;

    /// An empty file being resumed may be one that another tracker's start_run has just made (claim()) and
    /// whose writer has not yet written its run_start: wait for that line (up to 2 s) rather than write a
    /// run_start of our own. An empty file that stays empty was left by a crash; the resume then starts it.
    static void wait_for_creator(const run_file& f);

    /// Cuts the file back to its last '\n' (a torn line left by a crash); returns the new size. Called under
    /// the file's lock.
    std::uint64_t cut_torn_tail(run_file& f, std::uint64_t& discarded);

    void flush_file(run_file& f, bool sync = true);

    std::filesystem::path root_;
    jsonl_options options_;
    std::unordered_map<std::uint32_t, std::unique_ptr<run_file>> files_;
    std::uint64_t lines_lost_ = 0;
    std::vector<std::pair<std::string, std::string>> keys_;  ///< by metric id: name, escaped "name":
};

}  // namespace sinks
MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "jsonl-inl.hpp"
#endif
