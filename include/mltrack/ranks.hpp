// Why: an HPC job runs the same program on many ranks. Which rank this process is, and how many there are,
// is read from the launcher's environment (Open MPI, MPICH/Hydra PMI, PMIx, SLURM, torchrun), so nothing has
// to link MPI. The policy says who writes: rank zero only (the others get an inert tracker: no thread, no
// files) or every rank (each into its own files: never two writers on one file or TensorBoard folder).
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

#include "error.hpp"
#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Who writes in a job of several ranks.
enum class rank_policy : unsigned char {
    zero,   ///< rank 0 writes; every other rank gets an inert tracker (default)
    every,  ///< every rank writes its own files (events.rank-<r>.jsonl, TensorBoard <run>/rank-<r>/)
};

inline const char* to_string(rank_policy p) noexcept { return p == rank_policy::every ? "every" : "zero"; }

/// This process's place in the job.
struct rank_info {
    int rank = 0;             ///< 0-based rank of this process
    int world_size = 1;       ///< number of ranks in the job
    std::string source;       ///< where it came from: "OMPI_COMM_WORLD_RANK", "SLURM_PROCID", ..., "config", "none"
};

namespace detail {

/// A non-negative int from an environment variable; -1 when unset or not a plain decimal number.
inline int env_int(const char* name) noexcept {
    const char* v = std::getenv(name);
    if (!v || !*v) return -1;
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0 || n > 1 << 30) return -1;
    return static_cast<int>(n);
}

}  // namespace detail

/// Reads the rank and world size from the launcher's environment, first match wins:
/// Open MPI (OMPI_COMM_WORLD_RANK/SIZE), MPICH and Intel MPI through Hydra (PMI_RANK/PMI_SIZE),
/// MVAPICH (MV2_COMM_WORLD_RANK/SIZE), PMIx (PMIX_RANK, size from SLURM_NTASKS or OMPI), SLURM
/// (SLURM_PROCID/SLURM_NTASKS), torchrun and similar (RANK/WORLD_SIZE). None set: rank 0 of 1.
/// A value that is not a number, or a rank not below the size, is ignored (the next source is tried).
inline rank_info detect_rank() {
    struct source {
        const char* rank;
        const char* size;
    };
    static constexpr source sources[] = {
        {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
        {"PMI_RANK", "PMI_SIZE"},
        {"MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"},
        {"PMIX_RANK", nullptr},
        {"SLURM_PROCID", "SLURM_NTASKS"},
        {"RANK", "WORLD_SIZE"},
    };
    for (const auto& s : sources) {
        const int r = detail::env_int(s.rank);
        if (r < 0) continue;
        int n = s.size ? detail::env_int(s.size) : -1;
        if (n < 0 && !s.size) {  // PMIx names no size variable of its own
            n = detail::env_int("OMPI_COMM_WORLD_SIZE");
            if (n < 0) n = detail::env_int("SLURM_NTASKS");
        }
        if (n <= 0) n = r + 1;  // a rank without a size: at least this many
        if (r >= n) continue;
        return rank_info{r, n, s.rank};
    }
    return rank_info{0, 1, "none"};
}

/// MLTRACK_RANKS=zero|every when set (a job script's choice wins over the program's), else `configured`.
/// Any other value is an error (config.3), so a typo in a job script is not silently ignored.
inline rank_policy rank_policy_from_env(rank_policy configured) {
    const char* v = std::getenv("MLTRACK_RANKS");
    if (!v || !*v) return configured;
    const std::string_view s(v);
    if (s == "zero" || s == "0") return rank_policy::zero;
    if (s == "every" || s == "all") return rank_policy::every;
    throw error(error_category::config, 3,
                "MLTRACK_RANKS='" + std::string(s) + "' is not one of zero, every");
}

MLTRACK_NAMESPACE_END
