// The HPC job example: what to copy into a program that runs under SLURM or mpirun. Every rank runs it; the
// rank and world size come from the launcher's environment (nothing links MPI). With the default policy
// rank 0 logs and the other ranks get an inert tracker; MLTRACK_RANKS=every makes every rank log its own
// files. A termination handler ends the run PREEMPTED and flushes when the job is killed by its time limit
// (SIGTERM), a preemption notice (SIGUSR1, `#SBATCH --signal=USR1@120`) or Ctrl-C (CANCELLED). A requeued
// job resumes its run (the run is named after the SLURM job). See examples/hpc_job.sbatch.
//
//   hpc_job [--out DIR] [--steps N] [--run NAME] [--sleep-us U] [--signal-at K]
//   mpirun -np 4 hpc_job --out out            (or: srun hpc_job --out $SCRATCH/mltrack)
//
// --signal-at K simulates a preemption: at step K the program sends itself SIGTERM and goes on training
// until the handler has ended the run and the signal ends the process.
#include <mltrack/mltrack.hpp>

#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

struct options {
    std::filesystem::path out = "mltrack-out";
    std::int64_t steps = 1000;
    std::string run;
    long sleep_us = 0;
    std::int64_t signal_at = -1;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--out" && has_value) o.out = argv[++i];
        else if (a == "--steps" && has_value) o.steps = std::strtoll(argv[++i], nullptr, 10);
        else if (a == "--run" && has_value) o.run = argv[++i];
        else if (a == "--sleep-us" && has_value) o.sleep_us = std::strtol(argv[++i], nullptr, 10);
        else if (a == "--signal-at" && has_value) o.signal_at = std::strtoll(argv[++i], nullptr, 10);
        else if (a == "--help" || a == "-h") {
            std::printf("usage: hpc_job [--out DIR] [--steps N] [--run NAME] [--sleep-us U] [--signal-at K]\n"
                        "environment: MLTRACK_RANKS=zero|every (who writes), the launcher's rank variables\n");
            std::exit(0);
        } else {
            std::fprintf(stderr, "hpc_job: unknown argument '%s' (try --help)\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.run.empty()) {  // a requeued SLURM job keeps its id, so it resumes the same run
        const char* job = std::getenv("SLURM_JOB_ID");
        o.run = job ? std::string("job-") + job : "hpc-job";
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);

    mltrack::tracker t{mltrack::config{"hpc-example"},
                       mltrack::sinks::jsonl{o.out / "runs"},
                       mltrack::sinks::tensorboard{o.out / "tb"}};
    mltrack::termination_handler on_term{t};  // declared after the tracker, so destroyed before it

    const auto& me = t.rank();
    auto run = t.start_run(o.run, mltrack::start_mode::create_or_resume);
    run.log_params({{"world_size", std::int64_t{me.world_size}}, {"steps", o.steps}, {"optimizer", "sgd"}});
    auto loss = run.metric("loss");
    auto lr = run.metric("lr");

    // Resuming a requeued job: go on from the step after the last one this rank logged. (A real job would
    // restore its checkpoint here.)
    std::int64_t first = 0;
    if (run.resumed() && !t.inert()) {
        t.flush();
        const auto dir = mltrack::sinks::jsonl::run_dir(o.out / "runs", t.experiment(), o.run);
        const auto back = mltrack::read_run(dir);
        if (const auto* mine = back.rank_data(t.ranks() == mltrack::rank_policy::every ? me.rank : 0)) {
            auto it = mine->series.find("loss");
            if (it != mine->series.end() && !it->second.empty()) first = it->second.back().step + 1;
        }
    }

    std::int64_t i = 0;  // steps taken by this process
    for (; i < o.steps || (o.signal_at >= 0 && i > o.signal_at); ++i) {
        const std::int64_t step = first + i;
        const double x = static_cast<double>(step + 1);
        loss.log(1.0 / std::sqrt(x) + 0.01 * me.rank, step);
        lr.log(0.1 * std::pow(0.999, x), step);
        if (i == o.signal_at) ::kill(::getpid(), SIGTERM);  // simulated preemption: the handler takes over
        if (o.sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(o.sleep_us));
    }
    run.log_metrics({{"final_loss", 1.0 / std::sqrt(static_cast<double>(first + i))}});
    run.end();
    t.close();
    std::printf("rank %d of %d (%s, policy %s): %s %lld steps of run %s\n", me.rank, me.world_size,
                me.source.c_str(), mltrack::to_string(t.ranks()), t.inert() ? "inert, wrote nothing for" : "logged",
                static_cast<long long>(i), o.run.c_str());
    return 0;
}
