// Why: artifacts are files or folders that mltrack measures (size, SHA-256) on the caller's thread and
// copies into the run folder on the writer's. Folder digests are defined over a sorted manifest so they do
// not depend on directory iteration order.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "sha256.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

namespace fs = std::filesystem;

struct file_digest {
    std::uint64_t size = 0;
    std::string sha256;
    bool directory = false;
};

inline std::string file_sha256(const fs::path& p, std::uint64_t& size) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw error(error_category::io, 1, "cannot read '" + p.string() + "': " + std::strerror(errno));
    sha256 h;
    std::vector<char> buf(1 << 16);
    size = 0;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        h.update(buf.data(), got);
        size += got;
    }
    if (in.bad()) throw error(error_category::io, 1, "error reading '" + p.string() + "'");
    return h.hex_digest();
}

/// Size and digest of a file, or of a folder: SHA-256 over lines "<relative path>\0<file sha256>\n" sorted
/// by path, size the sum of file sizes. Symbolic links are followed for files, never for folders.
inline file_digest digest_path(const fs::path& p) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (ec || !fs::exists(st))
        throw error(error_category::io, 2, "artifact path '" + p.string() + "' does not exist");
    file_digest d;
    if (fs::is_regular_file(st)) {
        d.sha256 = file_sha256(p, d.size);
        return d;
    }
    if (!fs::is_directory(st))
        throw error(error_category::io, 3, "artifact path '" + p.string() + "' is neither a file nor a folder");
    d.directory = true;
    std::vector<std::pair<std::string, std::string>> manifest;
    for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        std::uint64_t sz = 0;
        auto sum = file_sha256(it->path(), sz);
        d.size += sz;
        manifest.emplace_back(fs::relative(it->path(), p).generic_string(), std::move(sum));
    }
    if (ec) throw error(error_category::io, 1, "cannot list '" + p.string() + "': " + ec.message());
    std::sort(manifest.begin(), manifest.end());
    sha256 h;
    for (const auto& m : manifest) {
        h.update(m.first);
        h.update(std::string_view("\0", 1));
        h.update(m.second);
        h.update("\n");
    }
    d.sha256 = h.hex_digest();
    return d;
}

/// Copies a file or folder to `to` (replacing what is there), through a temporary name and a rename, so
/// a reader never sees a half-copied artifact under its final name.
inline void copy_into(const fs::path& from, const fs::path& to) {
    fs::create_directories(to.parent_path());
    fs::path tmp = to;
    tmp += ".partial";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (fs::is_directory(from))
        fs::copy(from, tmp, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    else
        fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
    fs::remove_all(to, ec);
    fs::rename(tmp, to);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
