// Why: a run is only reproducible when we know where and how it ran: host, command line, git commit, compiler,
// CPU, SLURM job, MPI rank, Vertex AI job. capture_environment() gathers that once at run start as plain JSON. Every probe
// is cheap and bounded (the git commit and branch are read from the repository's files; git itself runs, with a
// short timeout, only when the dirty flag is asked for), nothing throws, and only variables named here are read:
// never the whole environment, never a variable that holds a secret. Secret-looking command-line arguments
// (--token=..., --password x, API_KEY=..., "Authorization: Bearer ...", ?sig=...) are redacted before they
// reach the JSON (detail/redact.hpp).
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#if defined(__linux__)
#include <sched.h>
#endif
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "detail/compiled.hpp"
#include "detail/git_files.hpp"
#include "detail/redact.hpp"
#include "detail/vertex/env.hpp"
#include "ranks.hpp"
#include "version.hpp"

extern "C" char** environ;  // POSIX: passed through to git unchanged, never read here

MLTRACK_NAMESPACE_BEGIN

/// What capture_environment probes.
struct environment_options {
    bool git = true;                                ///< the git commit and branch of `git_directory` (read from files)
    bool git_dirty = false;                         ///< also whether tracked files changed: runs `git status`
    std::chrono::milliseconds git_timeout{2000};    ///< that git is killed after this; `dirty` is then omitted
    std::filesystem::path git_directory{};          ///< empty: the current working directory
    std::filesystem::path proc_root = "/proc";      ///< where self/cmdline and cpuinfo are read (tests use a fake)
    std::filesystem::path passwd_file = "/etc/passwd";  ///< local users (others are asked of the name service)
};

namespace detail {

MLTRACK_INLINE bool read_small_file(const std::filesystem::path& p, std::string& out, std::size_t limit = 1 << 20);

/// Calls f(line) for each line of `text` (without its '\n') until f returns true; true when one did.
template <class F>
bool for_each_line(std::string_view text, F&& f) {
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        if (f(text.substr(start, nl - start))) return true;
        start = nl + 1;
    }
    return false;
}

MLTRACK_INLINE std::string trim(std::string_view s);

/// The output of a command (argv[0] looked up on PATH), or false when it cannot start, fails, or runs past
/// the timeout (then it is killed). stdin and stderr are /dev/null; at most `limit` bytes are kept.
MLTRACK_INLINE bool run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, std::string& out,
                        std::size_t limit = 1 << 20);

MLTRACK_INLINE nlohmann::json git_status(const std::string& dir, std::chrono::milliseconds timeout);

/// {commit, branch} read from the repository's files, and with git_dirty {dirty} from one `git status
/// --porcelain=v2 --branch` (tracked files only; untracked files do not make the tree dirty; omitted when git
/// is missing, fails or times out). Null when the folder is not in a work tree.
MLTRACK_INLINE nlohmann::json git_info(const environment_options& o);

/// {commit, branch, dirty} from `git status` (see git_info); null when git is missing, fails or times out.
MLTRACK_INLINE nlohmann::json git_status(const std::string& dir, std::chrono::milliseconds timeout);

/// The name of local user `uid` from the passwd file ("" when it is not there). Read directly: the name
/// service's first lookup in a process costs about a millisecond (it may ask nscd over a socket).
MLTRACK_INLINE std::string local_user_name(const std::filesystem::path& passwd_file, uid_t uid);

MLTRACK_INLINE void put_env(nlohmann::json& obj, const char* key, const char* variable);

/// The CPU's model name from /proc/cpuinfo ("model name" on x86, else "Hardware", "cpu model", "cpu").
MLTRACK_INLINE std::string cpu_model(const std::filesystem::path& cpuinfo);

/// CPUs this process may run on (sched_getaffinity), or 0 when unknown.
MLTRACK_INLINE long usable_cpus();

/// The compiler of the translation unit that compiles this body: in compiled mode (detail/compiled.hpp), the
/// mltrack::compiled library's or the implementation translation unit's, not the calling program's.
MLTRACK_INLINE nlohmann::json compiler_info();

/// Runs one probe; a probe that throws (it should not) leaves its fields out.
template <class F>
void probe(F&& f) noexcept {
    try {
        f();
    } catch (...) {
    }
}

}  // namespace detail

/// Where and how this process runs, as a JSON object (fields documented in docs/autolog.md and
/// docs/format.md). Fields that cannot be found are omitted; never throws (short of memory exhaustion
/// while building the result, which yields what was gathered so far).
MLTRACK_INLINE nlohmann::json capture_environment(const environment_options& options = {});

/// The part of an environment (from capture_environment) that is safe and useful to show as TensorBoard
/// text: host, git commit, mltrack version, compiler, SLURM ids and CPU model. Same shape as the input.
MLTRACK_INLINE nlohmann::json environment_text_subset(const nlohmann::json& env);

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "environment-inl.hpp"
#endif
