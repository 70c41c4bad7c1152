// Why: under rank_policy::zero only rank 0 logs, so a metric every rank computes (its shard's loss, its
// throughput) has to be combined first. This optional header does that with MPI for programs that already
// link it: reduce a value (mean, min, max, sum) to rank 0, then log it there. It is never included by
// <mltrack/mltrack.hpp>; the rest of mltrack never needs MPI (ranks come from the launcher's environment).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <mpi.h>

#include "config.hpp"
#include "error.hpp"
#include "record.hpp"
#include "run.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace mpi {

enum class reduce_op { mean, min, max, sum };

namespace detail {

inline MPI_Op to_mpi(reduce_op op) noexcept {
    switch (op) {
        case reduce_op::min: return MPI_MIN;
        case reduce_op::max: return MPI_MAX;
        default: return MPI_SUM;  // mean is a sum divided by the size
    }
}

inline void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw error(error_category::io, 31, std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

}  // namespace detail

/// Reduces `values` element-wise over the ranks of `comm` into `root` (a collective call: every rank of
/// `comm` must make it, with the same count). Returns the reduced values on `root`, the input elsewhere.
/// NaN propagates (a NaN on any rank gives NaN for mean and sum).
inline std::vector<double> reduce(std::vector<double> values, reduce_op op, MPI_Comm comm = MPI_COMM_WORLD,
                                  int root = 0) {
    int rank = 0, size = 1;
    detail::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    detail::check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    std::vector<double> out(values.size());
    detail::check(MPI_Reduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                             detail::to_mpi(op), root, comm),
                  "MPI_Reduce");
    if (rank != root) return values;
    if (op == reduce_op::mean)
        for (auto& v : out) v /= size;
    return out;
}

/// One value: the reduction on `root`, the input elsewhere.
inline double reduce(double value, reduce_op op, MPI_Comm comm = MPI_COMM_WORLD, int root = 0) {
    return reduce(std::vector<double>{value}, op, comm, root).front();
}

/// Every rank gets the reduction (MPI_Allreduce).
inline double allreduce(double value, reduce_op op, MPI_Comm comm = MPI_COMM_WORLD) {
    int size = 1;
    detail::check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    double out = 0.0;
    detail::check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, detail::to_mpi(op), comm), "MPI_Allreduce");
    return op == reduce_op::mean ? out / size : out;
}

/// Collective: reduces `value` to rank 0 of `comm` and logs it there through `metric` (on the other ranks,
/// whose trackers are inert under rank_policy::zero, the log is a no-op).
inline void log_reduced(const metric_handle& metric, double value, std::int64_t step, reduce_op op,
                        MPI_Comm comm = MPI_COMM_WORLD) {
    int rank = 0;
    detail::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    const double v = reduce(value, op, comm, 0);
    if (rank == 0) metric.log(v, step);
}

/// Collective: reduces several time-series values at one step in one MPI call and logs them from rank 0.
inline void log_time_series_reduced(run& r, const named_values<double>& values, std::int64_t step, reduce_op op,
                                    MPI_Comm comm = MPI_COMM_WORLD) {
    int rank = 0;
    detail::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    std::vector<double> v;
    v.reserve(values.size());
    for (const auto& kv : values) v.push_back(kv.second);
    v = reduce(std::move(v), op, comm, 0);
    if (rank != 0) return;
    named_values<double> out;
    for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(values[i].first, v[i]);
    r.log_time_series(out, step);
}

/// The rank and size of `comm`, for config::rank / config::world_size when a program's ranks are not the
/// launcher's (a sub-communicator, or a launcher mltrack does not know).
inline rank_info rank_of(MPI_Comm comm = MPI_COMM_WORLD) {
    rank_info r;
    detail::check(MPI_Comm_rank(comm, &r.rank), "MPI_Comm_rank");
    detail::check(MPI_Comm_size(comm, &r.world_size), "MPI_Comm_size");
    r.source = "MPI";
    return r;
}

}  // namespace mpi
MLTRACK_NAMESPACE_END
