// Why: every run records the git commit and branch it ran from, and spawning `git` for that cost a short job
// 20-40 ms at start and close. Both are plain files in the repository: HEAD names a branch (or a commit, when
// detached), and the branch's commit is a loose ref file or a line of packed-refs. Reading them costs a few
// stat() and read() calls. Worktrees and submodules (a `.git` file with "gitdir: ...", a `commondir` file)
// and GIT_DIR / GIT_CEILING_DIRECTORIES are followed as git follows them. Only whether the tree is dirty
// needs git itself (environment_options::git_dirty).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

struct git_head {
    std::string commit;  ///< full hash; empty before the first commit
    std::string branch;  ///< empty on a detached HEAD
};

/// The first line of a small file, without its line end; nullopt when it cannot be read.
inline std::optional<std::string> first_line(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::string line;
    std::getline(in, line);
    if (in.bad()) return std::nullopt;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

inline bool is_hash(std::string_view s) {
    if (s.size() != 40 && s.size() != 64) return false;  // SHA-1 or SHA-256 repositories
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

/// The git directory of the work tree that holds `dir` (searching upwards, stopping at the folders named in
/// GIT_CEILING_DIRECTORIES), or GIT_DIR when it is set; empty when there is none.
inline std::filesystem::path find_git_dir(std::filesystem::path dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (const char* env = std::getenv("GIT_DIR"); env && *env) return fs::absolute(env, ec);
    std::vector<fs::path> ceilings;
    if (const char* c = std::getenv("GIT_CEILING_DIRECTORIES"); c && *c) {
        std::string_view list(c);
        while (!list.empty()) {
            const auto colon = list.find(':');
            const auto item = list.substr(0, colon);
            if (!item.empty()) ceilings.push_back(fs::weakly_canonical(fs::path(std::string(item)), ec));
            list = colon == std::string_view::npos ? std::string_view() : list.substr(colon + 1);
        }
    }
    dir = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    for (int depth = 0; depth < 256 && !dir.empty(); ++depth) {
        const fs::path dot = dir / ".git";
        if (fs::is_directory(dot, ec)) return dot;
        if (fs::is_regular_file(dot, ec)) {  // a worktree or a submodule: "gitdir: <path>"
            const auto line = first_line(dot);
            if (!line || line->rfind("gitdir: ", 0) != 0) return {};
            fs::path target = line->substr(8);
            return target.is_absolute() ? target : dir / target;
        }
        for (const auto& c : ceilings)
            if (dir == c) return {};
        if (dir == dir.parent_path()) break;
        dir = dir.parent_path();
    }
    return {};
}

/// HEAD's branch and commit, read from the repository's files; nullopt when `dir` is not in a work tree or
/// HEAD cannot be read.
inline std::optional<git_head> read_git_head(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const fs::path git_dir = find_git_dir(dir);
    if (git_dir.empty()) return std::nullopt;
    const auto head = first_line(git_dir / "HEAD");
    if (!head) return std::nullopt;
    fs::path common = git_dir;  // refs live in the main repository's folder for a worktree
    if (const auto c = first_line(git_dir / "commondir")) common = fs::path(*c).is_absolute() ? fs::path(*c) : git_dir / *c;
    git_head out;
    if (head->rfind("ref: ", 0) != 0) {
        if (!is_hash(*head)) return std::nullopt;
        out.commit = *head;  // detached
        return out;
    }
    const std::string ref = head->substr(5);
    if (ref.rfind("refs/heads/", 0) == 0) out.branch = ref.substr(11);
    for (const fs::path& base : {git_dir, common}) {
        const auto loose = first_line(base / ref);
        if (loose && is_hash(*loose)) {
            out.commit = *loose;
            return out;
        }
    }
    std::ifstream packed(common / "packed-refs");
    for (std::string line; std::getline(packed, line);) {  // "<hash> <ref>", comments and "^<peeled>" lines
        const auto space = line.find(' ');
        if (space == std::string::npos || line.compare(space + 1, std::string::npos, ref) != 0) continue;
        if (is_hash(std::string_view(line).substr(0, space))) out.commit = line.substr(0, space);
        break;
    }
    return out;  // no commit yet on this branch: a fresh repository
}

}  // namespace detail
MLTRACK_NAMESPACE_END
