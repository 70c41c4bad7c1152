// Why: artifacts are files or folders that mltrack measures (size, SHA-256) on the caller's thread and
// copies into the run folder on the writer's. Both walk a folder the same way (tree_of), following symbolic
// links (a Hugging Face cache snapshot is a folder of links to blobs: the files are what is stored), refusing
// link loops and dangling links, and never descending into the run folder being written (a source that
// contains it would copy into itself). The stored copy is hashed as it is written, so the recorded digest is
// the copy's even when the source changes meanwhile. A copy replaces an earlier one by renames only, so a
// kill at any moment leaves the recorded copy whole (under its name, or set aside under a hidden name).
// Folder digests are defined over a sorted manifest so they do not depend on directory iteration order.
// Every failure is an mltrack::error; no std::filesystem exception escapes.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.hpp"
#include "../record.hpp"
#include "sha256.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

namespace fs = std::filesystem;

struct file_digest {
    std::uint64_t size = 0;
    std::string sha256;
    bool directory = false;
};

/// A file's identity, to tell a folder reached twice (a link loop) or the run folder itself.
struct file_id {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const file_id& o) const noexcept { return dev == o.dev && ino == o.ino; }
};

/// stat() (following links) of an artifact's path, with the errors mltrack names: io.16 for a link loop,
/// io.17 for a dangling link, io.2 when nothing is there, io.1 otherwise.
inline struct stat stat_artifact_path(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return st;
    const int err = errno;
    struct stat lst {};
    if (err == ELOOP)
        throw error(error_category::io, 16, "symbolic link loop at '" + p.string() + "'");
    if (err == ENOENT && ::lstat(p.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
        throw error(error_category::io, 17, "'" + p.string() + "' is a dangling symbolic link");
    if (err == ENOENT || err == ENOTDIR)
        throw error(error_category::io, 2, "artifact path '" + p.string() + "' does not exist");
    throw error(error_category::io, 1, "cannot read '" + p.string() + "': " + std::strerror(err));
}

/// One entry of an artifact folder: its path relative to the folder ("a/b.bin", '/'-separated), where to
/// read it (through links), and whether it is a folder.
struct tree_entry {
    std::string rel;
    fs::path at;
    bool directory = false;
};

namespace files_impl {

inline void walk(const fs::path& dir, const std::string& rel, std::vector<file_id>& ancestors,
                 const file_id* avoid, std::vector<tree_entry>& out) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
    if (ec) throw error(error_category::io, 1, "cannot list '" + dir.string() + "': " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        const fs::path p = dir / n;
        const std::string r = rel.empty() ? n : rel + "/" + n;
        const struct stat st = stat_artifact_path(p);
        if (S_ISREG(st.st_mode)) {
            out.push_back({r, p, false});
        } else if (S_ISDIR(st.st_mode)) {
            const file_id id{st.st_dev, st.st_ino};
            if (avoid && id == *avoid)
                throw error(error_category::value, 10,
                            "'" + p.string() + "' is the run's own folder: an artifact cannot contain the run it is "
                            "logged to (it would copy itself)");
            if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end())
                throw error(error_category::io, 16,
                            "symbolic link loop at '" + p.string() + "' (it leads back to a folder above it)");
            out.push_back({r, p, true});
            ancestors.push_back(id);
            walk(p, r, ancestors, avoid, out);
            ancestors.pop_back();
        }
        // FIFOs, sockets and devices are not artifact content: skipped (reading a FIFO would block).
    }
}

}  // namespace files_impl

/// The files and folders under `top`, sorted by relative path, links followed. Throws io.16 on a link
/// loop, io.17 on a dangling link, value.10 when a folder under `top` (or `top` itself) is `avoid`.
inline std::vector<tree_entry> tree_of(const fs::path& top, const fs::path& avoid = {}) {
    const struct stat st = stat_artifact_path(top);
    file_id avoid_id;
    const file_id* avoid_ptr = nullptr;
    struct stat ast {};
    if (!avoid.empty() && ::stat(avoid.c_str(), &ast) == 0) {
        avoid_id = {ast.st_dev, ast.st_ino};
        avoid_ptr = &avoid_id;
    }
    const file_id top_id{st.st_dev, st.st_ino};
    if (avoid_ptr && top_id == avoid_id)
        throw error(error_category::value, 10,
                    "'" + top.string() + "' is the run's own folder: an artifact cannot contain the run it is "
                    "logged to (it would copy itself)");
    std::vector<file_id> ancestors{top_id};
    std::vector<tree_entry> out;
    files_impl::walk(top, "", ancestors, avoid_ptr, out);
    return out;
}

/// SHA-256 and size of a file's bytes; when `to` is given, also writes them there (a new file), so that the
/// digest is that of the bytes written.
inline std::string file_sha256(const fs::path& p, std::uint64_t& size, const fs::path* to = nullptr) {
    const int in = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) throw error(error_category::io, 1, "cannot read '" + p.string() + "': " + std::strerror(errno));
    int out = -1;
    auto close_both = [&] {
        ::close(in);
        if (out >= 0) ::close(out);
    };
    if (to) {
        struct stat st {};
        const mode_t mode = ::fstat(in, &st) == 0 ? (st.st_mode & 0777) : 0644;
        out = ::open(to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0 || ::fchmod(out, mode) != 0) {  // the source's permission bits, whatever the umask
            const int err = errno;
            close_both();
            throw error(error_category::io, 13, "cannot create '" + to->string() + "': " + std::strerror(err));
        }
    }
    sha256 h;
    std::vector<char> buf(1 << 16);
    size = 0;
    for (;;) {
        const ssize_t got = ::read(in, buf.data(), buf.size());
        if (got == 0) break;
        if (got < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            close_both();
            throw error(error_category::io, 1, "error reading '" + p.string() + "': " + std::strerror(err));
        }
        h.update(buf.data(), static_cast<std::size_t>(got));
        size += static_cast<std::uint64_t>(got);
        for (ssize_t done = 0; out >= 0 && done < got;) {
            const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(got - done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                const int err = w < 0 ? errno : EIO;
                close_both();
                throw error(error_category::io, 13, "cannot write '" + to->string() + "': " + std::strerror(err));
            }
            done += w;
        }
    }
    if (out >= 0 && ::close(out) != 0) {
        const int err = errno;
        out = -1;
        close_both();
        throw error(error_category::io, 13, "cannot write '" + to->string() + "': " + std::strerror(err));
    }
    out = -1;
    close_both();
    return h.hex_digest();
}

/// SHA-256 over lines "<relative path>\0<file sha256>\n" sorted by path.
inline std::string manifest_sha256(std::vector<std::pair<std::string, std::string>> manifest) {
    std::sort(manifest.begin(), manifest.end());
    sha256 h;
    for (const auto& m : manifest) {
        h.update(m.first);
        h.update(std::string_view("\0", 1));
        h.update(m.second);
        h.update("\n");
    }
    return h.hex_digest();
}

/// Size and digest of a file, or of a folder: SHA-256 over its manifest (manifest_sha256), size the sum of
/// file sizes. Symbolic links are followed, to files and to folders (tree_of); empty folders add nothing.
inline file_digest digest_path(const fs::path& p) {
    const struct stat st = stat_artifact_path(p);
    file_digest d;
    if (S_ISREG(st.st_mode)) {
        d.sha256 = file_sha256(p, d.size);
        return d;
    }
    if (!S_ISDIR(st.st_mode))
        throw error(error_category::io, 3, "artifact path '" + p.string() + "' is neither a file nor a folder");
    d.directory = true;
    std::vector<std::pair<std::string, std::string>> manifest;
    for (const auto& e : tree_of(p)) {
        if (e.directory) continue;
        std::uint64_t sz = 0;
        manifest.emplace_back(e.rel, file_sha256(e.at, sz));
        d.size += sz;
    }
    d.sha256 = manifest_sha256(std::move(manifest));
    return d;
}

/// A sink's root made absolute against the current directory (kept as given if that fails), so that a
/// chdir() during a run moves nothing.
inline fs::path absolute_root(fs::path root) {
    if (root.empty() || root.is_absolute()) return root;
    std::error_code ec;
    auto abs = fs::absolute(root, ec);
    return ec ? root : abs;
}

/// Where copy_into builds a copy, and where it sets aside the copy it replaces: hidden names (an artifact
/// name cannot start with '.') next to the final one.
inline fs::path partial_path(const fs::path& to) { return to.parent_path() / ("." + to.filename().string() + ".partial"); }
inline fs::path aside_path(const fs::path& to) { return to.parent_path() / ("." + to.filename().string() + ".replaced"); }

/// Whether something (a file, a folder, a link) is at p, not following links.
inline bool present(const fs::path& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

/// Puts back a copy set aside by a replacement that a kill interrupted (its final name missing), and
/// removes one that the replacement had finished with.
inline void recover_aside(const fs::path& to) {
    const fs::path aside = aside_path(to);
    if (!present(aside)) return;
    std::error_code ec;
    if (!present(to)) fs::rename(aside, to, ec);
    else fs::remove_all(aside, ec);
}

/// Copies a file or folder to `to` and returns the copy's size and digest (computed from the bytes written).
/// Links are followed (the copy holds files and folders only); a source that contains `avoid` (the run's
/// folder) is refused with value.10 before anything is written. The copy is built under a hidden temporary
/// name; an earlier copy at `to` is renamed aside, the new one renamed in, then the old one removed: a kill
/// leaves either copy whole (recover_aside puts a set-aside copy back). The caller removes the set-aside
/// copy with drop_aside once the new one is recorded. On failure nothing is left behind and the earlier
/// copy stays; every failure is an mltrack::error (io.13 for writes; io.1/2/3/16/17 reading, value.10).
inline file_digest copy_into(const fs::path& from, const fs::path& to, const fs::path& avoid = {}) {
    const struct stat st = stat_artifact_path(from);
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        throw error(error_category::io, 3, "artifact path '" + from.string() + "' is neither a file nor a folder");
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (ec) throw error(error_category::io, 13, "cannot create " + to.parent_path().string() + ": " + ec.message());
    recover_aside(to);
    const fs::path tmp = partial_path(to);
    const fs::path aside = aside_path(to);
    fs::remove_all(tmp, ec);
    file_digest d;
    try {
        if (S_ISREG(st.st_mode)) {
            d.sha256 = file_sha256(from, d.size, &tmp);
        } else {
            d.directory = true;
            const auto entries = tree_of(from, avoid);  // before any write: a refusal leaves nothing
            if (!fs::create_directory(tmp, ec) || ec)
                throw error(error_category::io, 13, "cannot create " + tmp.string() + ": " + ec.message());
            std::vector<std::pair<std::string, std::string>> manifest;
            for (const auto& e : entries) {
                const fs::path target = tmp / fs::path(e.rel);
                if (e.directory) {
                    if (!fs::create_directory(target, ec) || ec)
                        throw error(error_category::io, 13, "cannot create " + target.string() + ": " + ec.message());
                    continue;
                }
                std::uint64_t sz = 0;
                manifest.emplace_back(e.rel, file_sha256(e.at, sz, &target));
                d.size += sz;
            }
            d.sha256 = manifest_sha256(std::move(manifest));
        }
        if (present(to)) {
            fs::rename(to, aside, ec);
            if (ec) throw error(error_category::io, 13, "cannot move " + to.string() + " aside: " + ec.message());
        }
        fs::rename(tmp, to, ec);
        if (ec) {
            const std::string why = ec.message();
            std::error_code ec2;
            if (present(aside)) fs::rename(aside, to, ec2);  // put the earlier copy back
            throw error(error_category::io, 13, "cannot rename " + tmp.string() + " to " + to.string() + ": " + why);
        }
    } catch (...) {
        std::error_code ec2;
        fs::remove_all(tmp, ec2);
        throw;
    }
    return d;
}

/// Removes the copy that copy_into set aside, once the new copy is recorded (a failure leaves a hidden
/// entry that the next copy_into of that name removes).
inline void drop_aside(const fs::path& to) {
    std::error_code ec;
    fs::remove_all(aside_path(to), ec);
}

/// The local file or folder of an artifact, for a sink that uploads it: its source, else its stored copy
/// under a JSONL root (<root>/<experiment>/<run>/<path>: a sync of runs logged elsewhere). Empty when neither
/// exists here.
inline std::filesystem::path local_artifact_file(const artifact& a, const std::string& jsonl_root,
                                                 const run_info& run) {
    std::error_code ec;
    if (!a.source.empty() && a.source.find("://") == std::string::npos && std::filesystem::exists(a.source, ec))
        return a.source;
    if (!jsonl_root.empty() && !a.path.empty()) {
        const auto p = std::filesystem::path(jsonl_root) / run.experiment / run.name / a.path;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return {};
}

}  // namespace detail
MLTRACK_NAMESPACE_END
