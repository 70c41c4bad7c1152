// Why: the bodies of sinks::jsonl's cold member functions (opening, formatting, writing, flushing a run's
// file), apart from the class so that in compiled mode (detail/compiled.hpp) they are compiled once, in the
// implementation translation unit, and not in every translation unit that names the sink.
#pragma once

#include "jsonl.hpp"
#include "any.hpp"
#include "../detail/jsonl/artifact_line.hpp"
#include "../detail/jsonl/shared_file.hpp"
#include "../detail/sink_files.hpp"
#include "../reader.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

MLTRACK_INLINE jsonl::jsonl(std::filesystem::path root, jsonl_options options)
    : root_(detail::absolute_root(std::move(root))), options_(options) {}

MLTRACK_INLINE jsonl::~jsonl() {
    try { close(); } catch (...) {}
}

MLTRACK_INLINE any::any(jsonl&& sink) : p_(std::make_unique<model<jsonl>>(std::move(sink))) {}

MLTRACK_INLINE std::filesystem::path jsonl::run_dir(const std::filesystem::path& root, std::string_view experiment,
                                                    std::string_view run) {
    return detail::run_folder(root, experiment, run);
}

MLTRACK_INLINE bool jsonl::exists(const run_info& run) const {
    std::error_code ec;
    return std::filesystem::exists(run_dir(root_, run.experiment, run.name) / detail::events_file_name(run.rank),
                                   ec);
}

MLTRACK_INLINE bool jsonl::claim(const run_info& run, bool create) const {
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

MLTRACK_INLINE std::optional<std::map<std::string, std::int64_t>> jsonl::max_steps(const run_info& run) const {
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

MLTRACK_INLINE void jsonl::write(const batch& b) {
    detail::for_each_collecting(b, [&](const event& e) { write_one(e); });
}

MLTRACK_INLINE void jsonl::flush() {
    detail::for_each_collecting(files_, [&](auto& kv) { flush_file(*kv.second); });
}

MLTRACK_INLINE void jsonl::close() {
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

MLTRACK_INLINE void jsonl::write_one(const event& e) {
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

MLTRACK_INLINE const std::string& jsonl::escaped_key(const metric_info& m) {
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

MLTRACK_INLINE void jsonl::open_run(const run_info& run) {
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

MLTRACK_INLINE void jsonl::kill(run_file& f) noexcept {
    if (f.fd >= 0) ::close(f.fd);
    f.fd = -1;
    f.dead = true;
}

MLTRACK_INLINE void jsonl::remove_if_empty(const run_file& f) noexcept {
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(f.path.c_str());
}

MLTRACK_INLINE void jsonl::wait_for_creator(const run_file& f) {
    struct stat st {};
    for (int i = 0; i < 400; ++i) {
        if (::fstat(f.fd, &st) != 0 || st.st_size > 0) return;
        ::usleep(5000);
    }
}

MLTRACK_INLINE std::uint64_t jsonl::cut_torn_tail(run_file& f, std::uint64_t& discarded) {
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

MLTRACK_INLINE void jsonl::flush_file(run_file& f, bool sync) {
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
}  // namespace sinks
MLTRACK_NAMESPACE_END
