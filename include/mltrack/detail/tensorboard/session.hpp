// Why: TensorBoard keeps the FIRST session_start_info and session_end_info it reads in a run folder, reading
// the folder's event files in name order. A run that is resumed (a requeued HPC job), or whose params change
// after it started, would otherwise show its first opening's params and status for ever. So a run's HParams
// session lives in one small event file of its own whose name sorts before every data file,
// `events.out.tfevents.0000000000.mltrack-session`, replaced atomically (write under a name TensorBoard
// ignores, then rename) whenever the params or the status change. A TensorBoard that loads the folder reads
// the latest params and status first; data files hold no session infos that could win over it.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "../../error.hpp"
#include "../../record.hpp"
#include "format.hpp"
#include "reader.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// The run's HParams session as its session file states it.
struct session_state {
    std::map<std::string, param_value> params;  ///< the latest value of every param, over all openings
    double start_time_secs = 0.0;               ///< the run's first start
    /// The session_end_info, when there is one: a final status, or `unknown` for a run resumed after it
    /// had ended (so that an earlier end in a data file cannot win while the run goes on).
    std::optional<session_status> status;
    double end_time_secs = 0.0;
};

inline constexpr const char* session_file_name = "events.out.tfevents.0000000000.mltrack-session";
/// A declared hparams experiment, in <logdir>/<experiment>/ (tensorboard_options::experiment).
inline constexpr const char* declaration_file_name = "events.out.tfevents.0000000000.mltrack-experiment";

/// The session file's bytes: file_version, session_start_info and, when there is a status, session_end_info.
inline std::string encode_session(const session_state& s, double wall_time, std::string_view writer) {
    std::string out;
    file_version_record(out, wall_time, writer);
    auto ev = begin_summary(out, wall_time, 0);
    value_hparams(out, "_hparams_/session_start_info", hparams_session_start(s.params, {}, s.start_time_secs));
    end_summary(out, ev);
    if (s.status) {
        ev = begin_summary(out, wall_time, 0);
        value_hparams(out, "_hparams_/session_end_info", hparams_session_end(*s.status, s.end_time_secs));
        end_summary(out, ev);
    }
    return out;
}

/// google.protobuf.Value as the sink wrote it: number (ints too), string or bool.
inline std::optional<param_value> read_struct_value(std::string_view v) {
    pb_cursor c(v);
    std::uint32_t field = 0;
    int wire = 0;
    std::optional<param_value> out;
    while (c.next(field, wire)) {
        if (field == 2 && wire == 1) out = param_value(c.f64());
        else if (field == 3 && wire == 2) out = param_value(std::string(c.bytes()));
        else if (field == 4 && wire == 0) out = param_value(c.varint() != 0);
        else c.skip(wire);
    }
    return c.ok() ? out : std::nullopt;
}

/// Reads HParamsPluginData content into `s`: session_start_info (3) or session_end_info (4).
inline void read_session_content(std::string_view content, session_state& s) {
    pb_cursor c(content);
    std::uint32_t field = 0;
    int wire = 0;
    while (c.next(field, wire)) {
        if (field == 3 && wire == 2) {
            pb_cursor info(c.bytes());
            while (info.next(field, wire)) {
                if (field == 1 && wire == 2) {  // map entry {key 1, value 2}
                    pb_cursor entry(info.bytes());
                    std::string key;
                    std::optional<param_value> value;
                    while (entry.next(field, wire)) {
                        if (field == 1 && wire == 2) key = std::string(entry.bytes());
                        else if (field == 2 && wire == 2) value = read_struct_value(entry.bytes());
                        else entry.skip(wire);
                    }
                    if (!key.empty() && value) s.params[key] = *value;
                } else if (field == 5 && wire == 1) {
                    s.start_time_secs = info.f64();
                } else {
                    info.skip(wire);
                }
            }
        } else if (field == 4 && wire == 2) {
            pb_cursor info(c.bytes());
            s.status = session_status::unknown;
            while (info.next(field, wire)) {
                if (field == 1 && wire == 0) s.status = static_cast<session_status>(info.varint());
                else if (field == 2 && wire == 1) s.end_time_secs = info.f64();
                else info.skip(wire);
            }
        } else {
            c.skip(wire);
        }
    }
}

/// The session a folder's session file holds; nullopt when there is none (or it cannot be read).
inline std::optional<session_state> read_session(const std::filesystem::path& dir) {
    const std::string bytes = read_whole_file(dir / session_file_name);
    if (bytes.empty()) return std::nullopt;
    session_state s;
    bool any = false;
    for_each_record(bytes, [&](std::string_view payload) {
        read_event(payload, [&](std::string_view tag, std::string_view plugin, std::string_view content) {
            if (plugin == "hparams" &&
                (tag == "_hparams_/session_start_info" || tag == "_hparams_/session_end_info")) {
                read_session_content(content, s);
                any = true;
            }
        });
    });
    if (!any) return std::nullopt;
    return s;
}

/// Replaces dir/name with `bytes` atomically: written under a name without "tfevents" (which TensorBoard
/// ignores), synced when `sync`, then renamed over the old one. Throws io.24.
inline void replace_file(const std::filesystem::path& dir, const char* name, const std::string& bytes, bool sync) {
    const std::filesystem::path tmp = dir / (".mltrack-replace." + std::to_string(static_cast<long long>(::getpid())) + ".tmp");
    const std::filesystem::path dst = dir / name;
    auto fail = [&](const char* what) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw error(error_category::io, 24,
                    std::string("cannot ") + what + " the TensorBoard file " + dst.string() + ": " + std::strerror(err));
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create");
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENOSPC;
            const int err = errno;
            ::close(fd);
            errno = err;
            fail("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (sync && ::fdatasync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        fail("sync");
    }
    if (::close(fd) != 0) fail("write");
    if (::rename(tmp.c_str(), dst.c_str()) != 0) fail("replace");
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
