// Run under mpirun -np N (N >= 2): mltrack/mpi.hpp reduces each rank's value to rank 0, which logs it; rank 0
// then reads its run back and checks every logged value against the expected reduction. Exit 0 when right.
#include <mltrack/mltrack.hpp>
#include <mltrack/mpi.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
    if (ok) return;
    std::fprintf(stderr, "mpi_reduce: FAILED: %s\n", what.c_str());
    ++failures;
}

bool near(double a, double b) { return std::fabs(a - b) < 1e-12; }

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: mpi_reduce OUT_DIR\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const auto me = mltrack::mpi::rank_of();
    if (me.rank == 0) std::filesystem::remove_all(argv[1]);  // a fresh run on every test run
    MPI_Barrier(MPI_COMM_WORLD);
    const double size = me.world_size;
    const double mine = me.rank + 1.0;  // ranks hold 1, 2, ..., size
    const double mean = (size + 1) / 2, sum = size * (size + 1) / 2;
    {
        mltrack::config c{"mpi"};
        c.rank = me.rank;  // from MPI itself rather than the launcher's variables
        c.world_size = me.world_size;
        mltrack::tracker t{c, mltrack::sinks::jsonl{argv[1]}};
        expect(t.inert() == (me.rank != 0), "only rank 0 writes under the default policy");
        auto run = t.start_run("reduce");
        auto h = run.metric("value");
        for (std::int64_t step = 0; step < 10; ++step) {
            const double v = mine * static_cast<double>(step + 1);
            mltrack::mpi::log_reduced(h, v, step, mltrack::mpi::reduce_op::mean);
        }
        mltrack::mpi::log_time_series_reduced(run, {{"min", mine}, {"max", mine}}, 0, mltrack::mpi::reduce_op::min);
        mltrack::mpi::log_time_series_reduced(run, {{"sum", mine}}, 0, mltrack::mpi::reduce_op::sum);
        const double all = mltrack::mpi::allreduce(mine, mltrack::mpi::reduce_op::max);
        expect(near(all, size), "allreduce max on rank " + std::to_string(me.rank));
        const double local = mltrack::mpi::reduce(mine, mltrack::mpi::reduce_op::sum);
        expect(me.rank == 0 ? near(local, sum) : near(local, mine), "reduce returns the input off the root");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (me.rank == 0) {
        const auto back = mltrack::read_run(std::string(argv[1]) + "/mpi/reduce");
        const auto& pts = back.series.at("value");
        expect(pts.size() == 10, "10 reduced points, got " + std::to_string(pts.size()));
        for (std::size_t i = 0; i < pts.size(); ++i)
            expect(near(pts[i].value, mean * static_cast<double>(i + 1)), "mean at step " + std::to_string(i));
        expect(near(back.series.at("min").at(0).value, 1.0), "min");
        expect(near(back.series.at("max").at(0).value, 1.0), "min over the max key too (same op for the call)");
        expect(near(back.series.at("sum").at(0).value, sum), "sum");
        expect(back.world_size == me.world_size, "world size in the run");
        if (failures == 0) std::printf("mpi_reduce: %d ranks, every reduction right\n", me.world_size);
    }
    int any = failures;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return any == 0 ? 0 : 1;
}
