// Logs, offline (JSONL only), a run with what an MLflow server treats specially: NaN and infinite metric
// values, a param logged again with another value, keys MLflow refuses, long values, a resumed run. The
// real-server check (run.sh) then syncs it with `mltrack sync --to mlflow:URI` and compares.
//
//   edge_run ROOT
#include <cmath>
#include <cstdio>
#include <string>

#include <mltrack/mltrack.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: edge_run ROOT\n");
        return 2;
    }
    mltrack::config c{"mlflow-edge"};
    c.dispatch = mltrack::dispatch_mode::inline_;
    {
        mltrack::tracker t{c, mltrack::sinks::jsonl{argv[1]}};
        auto run = t.start_run("edges");
        run.log_params({{"lr", 0.1}, {"note", std::string(6000, 'n')}});
        run.log_params({{"lr", 0.2}});  // MLflow keeps 0.1 (reported by the sync)
        auto m = run.metric("edge/values");
        m.log(std::nan(""), 0);
        m.log(HUGE_VAL, 1);
        m.log(-HUGE_VAL, 2);
        m.log(-0.0, 3);
        m.log(1e-300, 4);
        m.log(1.7976931348623157e308, 5);
        run.log("bad@key", 1.0, 0);  // MLflow refuses the key (reported by the sync, kept in JSONL)
        for (int s = 0; s < 2500; ++s) run.log("train/loss", 1.0 / (s + 1), s);
        run.end(mltrack::run_state::preempted);
    }
    {
        mltrack::tracker t{c, mltrack::sinks::jsonl{argv[1]}};
        auto run = t.start_run("edges", mltrack::start_mode::resume);
        for (int s = 2500; s < 3000; ++s) run.log("train/loss", 1.0 / (s + 1), s);
        run.set_tag("resumed", "yes");
    }
    return 0;
}
