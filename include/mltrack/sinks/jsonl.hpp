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

#include "../detail/files.hpp"
#include "../detail/jsonl/artifact_line.hpp"
#include "../detail/jsonl/jsonl_format.hpp"
#include "../detail/jsonl/line_limit.hpp"
#include "../detail/jsonl/shared_file.hpp"
#include "../detail/sink_files.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "../reader.hpp"
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
    explicit jsonl(std::filesystem::path root, jsonl_options options = {})
        : root_(detail::absolute_root(std::move(root))), options_(options) {}

    jsonl(jsonl&&) noexcept = default;
    jsonl& operator=(jsonl&&) noexcept = default;
    jsonl(const jsonl&) = delete;
    jsonl& operator=(const jsonl&) = delete;
    ~jsonl() {
        try { close(); } catch (...) {}
    }

    std::string_view name() const { return "jsonl"; }
    const std::filesystem::path& root() const noexcept { return root_; }

    /// The folder of a run: <root>/<experiment>/<run> (names are validated, so it stays under root).
    static std::filesystem::path run_dir(const std::filesystem::path& root, std::string_view experiment,
                                         std::string_view run) {
        return detail::run_folder(root, experiment, run);
    }

    bool exists(const run_info& run) const {
        std::error_code ec;
        return std::filesystem::exists(run_dir(root_, run.experiment, run.name) / detail::events_file_name(run.rank),
                                       ec);
    }

    /// start_run's check on the caller's thread (safe from any thread: it touches only the filesystem):
    /// whether the run's file exists; with `create`, the file is made when it does not, exclusively
    /// (O_EXCL), so that of two processes creating one run at once exactly one gets false. The empty file
    /// gets its run_start line when the writer opens the run. Throws io.11 / io.12.
    bool claim(const run_info& run, bool create) const {
        if (!create) return exists(run);
        const auto dir = run_dir(root_, run.experiment, run.name);
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw error(error_category::io, 11, "cannot create run folder " + dir.string() + ": " + ec.message());
        const auto path = dir / detail::events_file_name(run.rank);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            ::close(fd);
            return false;
        }
        if (errno == EEXIST) return true;
        throw error(error_category::io, 12, "cannot create " + path.string() + ": " + std::strerror(errno));
    }

    /// The highest step of each metric in the run's file (for a resumed run's steps; nullopt without a file).
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) const {
        const auto file = run_dir(root_, run.experiment, run.name) / detail::events_file_name(run.rank);
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) return std::nullopt;
        read_options lenient;
        lenient.strict = false;
        const auto data = read_run(file, lenient);
        std::map<std::string, std::int64_t> out;
        for (const auto& kv : data.series)
            for (const auto& p : kv.second) {
                auto it = out.find(kv.first);
                if (it == out.end()) out.emplace(kv.first, p.step);
                else if (p.step > it->second) it->second = p.step;
            }
        return out;
    }

    void write(const batch& b) {
        detail::for_each_collecting(b, [&](const event& e) { write_one(e); });
    }

    void flush() {
        detail::for_each_collecting(files_, [&](auto& kv) { flush_file(*kv.second); });
    }

    void close() {
        struct forget_after {
            jsonl& s;
            ~forget_after() { s.files_.clear(); }
        } forget{*this};
        detail::for_each_collecting(files_, [&](auto& kv) {
            struct closer {
                int fd;
                ~closer() { ::close(fd); }
            } c{kv.second->fd};  // -1 for a dead run: close() then fails harmlessly
            flush_file(*kv.second);
        });
    }

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

    void write_one(const event& e) {
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) {
            open_run(*e.run);
            return;
        }
        auto it = files_.find(e.run->id);
        if (it == files_.end()) return;  // the run could not be opened; its error was reported then
        run_file& f = *it->second;
        if (e.kind == record_kind::metric) {
            // The hot line: formatted in one stack buffer and appended once; the key comes pre-escaped.
            const std::string& key = escaped_key(*e.metric);
            char tmp[128];
            char* p = tmp;
            if (f.line_open && f.open_step == e.step && f.open_time == e.time_ns &&
                f.buf.size() - f.open_line_at + key.size() + sizeof tmp <= options_.max_line_bytes &&
                std::find(f.open_metrics.begin(), f.open_metrics.end(), e.metric->id) == f.open_metrics.end()) {
                f.buf.resize(f.buf.size() - 3);  // "}}\n": the value joins the open line
                *p++ = ',';
            } else {
                static constexpr char head[] = "{\"kind\":\"metrics\",\"time\":";
                std::memcpy(p, head, sizeof head - 1);
                p = detail::write_time(p + sizeof head - 1, e.time_ns);
                static constexpr char step[] = ",\"step\":";
                std::memcpy(p, step, sizeof step - 1);
                p = std::to_chars(p + sizeof step - 1, p + 40, e.step).ptr;
                static constexpr char values[] = ",\"values\":{";
                std::memcpy(p, values, sizeof values - 1);
                p += sizeof values - 1;
                f.line_open = true;
                f.open_line_at = f.buf.size();
                f.open_step = e.step;
                f.open_time = e.time_ns;
                f.open_metrics.clear();
                ++f.buffered_lines;
            }
            f.open_metrics.push_back(e.metric->id);
            f.buf.append(tmp, static_cast<std::size_t>(p - tmp));
            f.buf += key;
            p = detail::write_double(tmp, e.value);
            std::memcpy(p, "}}\n", 3);
            f.buf.append(tmp, static_cast<std::size_t>(p + 3 - tmp));
        } else {
            f.line_open = false;
            std::optional<error> copy_error;
            bool copied = false;
            std::size_t lines = 0;
            if (e.kind == record_kind::artifact && !f.dead && !e.payload->get_artifact().path.empty()) {
                const std::size_t at = f.buf.size();
                copy_error = detail::append_artifact_line(f.buf, f.dir, e, copied);
                lines = f.buf.size() - at <= options_.max_line_bytes ? 1 : 0;
                if (lines == 0) f.buf.resize(at);
            } else {
                lines = detail::append_record_lines(f.buf, *e.payload, options_.max_line_bytes);
            }
            f.buffered_lines += lines;
            std::string too_long;
            if (lines == 0) {  // over the readers' line limit, and not splittable: refused, counted lost
                ++lines_lost_;
                too_long = "a " + std::string(to_string(e.kind)) + " record of run '" + e.run->name +
                           "' is longer than " + std::to_string(options_.max_line_bytes) +
                           " bytes as one JSONL line and was not written to " + f.path.string() + " (1 lines lost)";
            }
            if (e.kind == record_kind::run_end) {
                auto owned = std::move(it->second);
                files_.erase(it);
                try {
                    flush_file(*owned);
                } catch (...) {
                    ::close(owned->fd);
                    throw;
                }
                ::close(owned->fd);
                return;
            }
            if (copied && lines) {  // the line on disk before the copy it replaced goes (a kill keeps one recorded)
                flush_file(f);
                detail::drop_aside(f.dir / e.payload->get_artifact().path);
            }
            if (copy_error) throw *copy_error;
            if (!too_long.empty()) throw error(error_category::io, 18, too_long);
        }
        if (f.buf.size() >= options_.buffer_bytes) flush_file(f, false);
    }

    /// "<key as a JSON string>:" of a metric, cached by id (checked against the name: replay reuses ids).
    const std::string& escaped_key(const metric_info& m) {
        if (m.id >= keys_.size()) keys_.resize(m.id + 1);
        auto& k = keys_[m.id];
        if (k.first != m.name || k.second.empty()) {
            k.first = m.name;
            k.second.clear();
            detail::append_json_string(k.second, m.name);
            k.second += ':';
        }
        return k.second;
    }

    void open_run(const run_info& run) {
        auto f = std::make_unique<run_file>();
        f->dir = run_dir(root_, run.experiment, run.name);
        f->path = f->dir / detail::events_file_name(run.rank);  // one file per writing rank
        f->dead = true;  // until its opening line is written: until then a failure leaves it so (lines counted lost)
        run_file& ref = *f;
        files_[run.id] = std::move(f);
        std::error_code ec;
        std::filesystem::create_directories(ref.dir, ec);
        if (ec) throw error(error_category::io, 11, "cannot create run folder " + ref.dir.string() + ": " + ec.message());
        ref.fd = ::open(ref.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (ref.fd < 0)
            throw error(error_category::io, 12, "cannot open " + ref.path.string() + ": " + std::strerror(errno));
        if (run.resumed) wait_for_creator(ref);
        detail::file_lock lock(ref.fd);  // no other writer appends or cuts between the size read and the write
        std::uint64_t discarded = 0;
        std::uint64_t size = 0;
        try {
            size = cut_torn_tail(ref, discarded);
        } catch (...) {
            kill(ref);
            throw;
        }
        run_info header = run;
        // A file with lines gets a run_resume, even for a run this process created: another writer (a resumer
        // that stopped waiting for our run_start) has opened it first, and a second run_start would make the
        // file unreadable. An empty file gets a run_start, even on resume.
        header.resumed = size > 0;
        if (!header.resumed) discarded = 0;
        std::string line;
        detail::append_run_open_line(line, header, discarded);
        if (line.size() > options_.max_line_bytes) {
            kill(ref);
            ++lines_lost_;
            remove_if_empty(ref);
            throw error(error_category::io, 18,
                        "the opening line of run '" + run.name + "' (its metadata) is longer than " +
                            std::to_string(options_.max_line_bytes) + " bytes and was not written to " +
                            ref.path.string() + ": nothing of the run is written by this sink (1 lines lost)");
        }
        const auto r = detail::append_shared(ref.fd, line, lock);
        if (!r.ok) {
            kill(ref);
            ++lines_lost_;
            remove_if_empty(ref);
            throw error(error_category::io, 14,
                        "cannot write " + ref.path.string() + ": " + std::strerror(r.error) +
                            " (1 lines lost): the run's opening line is missing, so nothing of the run is written by "
                            "this sink; its later lines are counted as lost");
        }
        ref.dead = false;
    }

    /// A run whose opening failed: its file is closed, its later lines are formatted and counted as lost.
    static void kill(run_file& f) noexcept {
        if (f.fd >= 0) ::close(f.fd);
        f.fd = -1;
        f.dead = true;
    }

    /// After a failed opening: an events file left empty (made by start_run's claim, or just now) is removed,
    /// so that the run does not exist and can be started again. Only an empty file is removed.
    static void remove_if_empty(const run_file& f) noexcept {
        struct stat st {};
        if (::lstat(f.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(f.path.c_str());
    }

    /// An empty file being resumed may be one that another tracker's start_run has just made (claim()) and
    /// whose writer has not yet written its run_start: wait for that line (up to 2 s) rather than write a
    /// run_start of our own. An empty file that stays empty was left by a crash; the resume then starts it.
    static void wait_for_creator(const run_file& f) {
        struct stat st {};
        for (int i = 0; i < 400; ++i) {
            if (::fstat(f.fd, &st) != 0 || st.st_size > 0) return;
            ::usleep(5000);
        }
    }

    /// Cuts the file back to its last '\n' (a torn line left by a crash); returns the new size. Called under
    /// the file's lock.
    std::uint64_t cut_torn_tail(run_file& f, std::uint64_t& discarded) {
        struct stat st {};
        if (::fstat(f.fd, &st) != 0 || st.st_size == 0) return 0;
        const auto size = static_cast<std::uint64_t>(st.st_size);
        char buf[4096];
        std::uint64_t end = size;
        while (end > 0) {
            const std::uint64_t chunk = end < sizeof buf ? end : sizeof buf;
            const auto got = ::pread(f.fd, buf, chunk, static_cast<off_t>(end - chunk));
            if (got != static_cast<ssize_t>(chunk))
                throw error(error_category::io, 12, "cannot read " + f.path.string() + ": " + std::strerror(errno));
            for (std::uint64_t i = chunk; i > 0; --i)
                if (buf[i - 1] == '\n') {
                    const std::uint64_t keep = end - chunk + i;
                    if (keep != size && ::ftruncate(f.fd, static_cast<off_t>(keep)) != 0)
                        throw error(error_category::io, 12,
                                    "cannot cut the torn last line of " + f.path.string() + ": " + std::strerror(errno));
                    discarded = size - keep;
                    return keep;
                }
            end -= chunk;
        }
        // No complete line at all: the whole file is one torn line.
        if (::ftruncate(f.fd, 0) != 0)
            throw error(error_category::io, 12, "cannot truncate " + f.path.string() + ": " + std::strerror(errno));
        discarded = size;
        return 0;
    }

    void flush_file(run_file& f, bool sync = true) {
        f.line_open = false;
        if (f.dead) {  // its opening failed and was reported then: its lines are only counted
            lines_lost_ += f.buffered_lines;
            f.buf.clear();
            f.buffered_lines = 0;
            return;
        }
        if (!f.buf.empty()) {
            detail::shared_append_result r;
            {
                detail::file_lock lock(f.fd);
                r = detail::append_shared(f.fd, f.buf, lock);
            }
            const auto lost = f.buffered_lines;
            f.buf.clear();
            f.buffered_lines = 0;
            if (!r.ok) {  // cut back to where this write began: no torn line is ever followed by new data
                lines_lost_ += lost;
                throw error(error_category::io, 14,
                            "cannot write " + f.path.string() + ": " + std::strerror(r.error) + " (" +
                                std::to_string(lost) + " lines lost)" +
                                (r.cut_back ? "" : "; its partial line could not be cut back"));
            }
        }
        if (sync && options_.fsync && ::fdatasync(f.fd) != 0)
            throw error(error_category::io, 15, "cannot sync " + f.path.string() + ": " + std::strerror(errno));
    }

    std::filesystem::path root_;
    jsonl_options options_;
    std::unordered_map<std::uint32_t, std::unique_ptr<run_file>> files_;
    std::uint64_t lines_lost_ = 0;
    std::vector<std::pair<std::string, std::string>> keys_;  ///< by metric id: name, escaped "name":
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
