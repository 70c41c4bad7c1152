// The fixed data set the `mltrack` command's golden files are made from: two experiments, four runs, every
// record kind, every run state, a NaN, a run still RUNNING. Written through the library itself with an
// injected clock (1 ms per call from 1700000000 s) and inline dispatch, so the bytes never change.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>

#include <mltrack/mltrack.hpp>

namespace cli_dataset {

inline std::int64_t& clock_state() {
    static std::int64_t t = 0;
    return t;
}

inline std::int64_t fake_clock() noexcept { return clock_state() += 1000000; }

inline mltrack::config make_config(const char* experiment) {
    mltrack::config c{experiment};
    c.clock = &fake_clock;
    c.dispatch = mltrack::dispatch_mode::inline_;
    c.capture_environment = false;  // the golden files must not depend on the machine
    return c;
}

/// Writes the data set under `root` (which should be empty). Not thread-safe (one clock).
inline void write(const std::filesystem::path& root) {
    clock_state() = 1700000000000000000;
    {
        mltrack::tracker t{make_config("exp"), mltrack::sinks::jsonl(root)};
        {
            auto run = t.start_run("baseline", mltrack::start_mode::create,
                                   {{"host", "node-1"}, {"rank", 0}, {"world_size", 1}});
            run.log_params({{"lr", 0.01}, {"batch_size", 32}, {"optimizer", "adam"}, {"augment", true}});
            for (int step = 0; step < 5; ++step)
                run.log_time_series({{"train/loss", 1.0 / (step + 1)}, {"val/acc", 0.5 + 0.1 * step}}, step);
            run.log_metrics({{"val/acc", 0.91}, {"test/acc", 0.89}});
            run.log_classification_metrics({"cat", "dog", "bird"}, {{50, 3, 2}, {4, 45, 6}, {1, 2, 40}},
                                           {0.0, 0.1, 0.4, 1.0}, {0.0, 0.7, 0.95, 1.0}, {1.0, 0.8, 0.5, 0.0},
                                           "test");
            const auto model = run.log_model("gs://bucket/models/baseline.bst", {"xgboost", "1.7.4"});
            mltrack::execution e;
            e.name = "train";
            e.inputs.push_back(mltrack::artifact::reference("train-data", "gs://bucket/data/train.csv"));
            e.outputs.push_back(model);
            run.log_execution(e);
        }  // ends COMPLETE
        {
            auto run = t.start_run("high-lr");
            run.log_params({{"lr", 0.1}, {"batch_size", 32}, {"optimizer", "sgd"}, {"augment", false}});
            run.log("train/loss", 2.5, 0);
            run.log("train/loss", std::numeric_limits<double>::quiet_NaN(), 1);
            run.log("train/loss", std::numeric_limits<double>::infinity(), 2);
            run.log("val/acc", 0.1, 2);
            run.end(mltrack::run_state::failed);
        }
        auto wide = t.start_run("wide");
        wide.log_params({{"lr", 0.003}, {"batch_size", 64}, {"optimizer", "adam, nesterov"}});
        for (int step = 0; step < 10; step += 2) {
            wide.log("train/loss", 0.9 - 0.05 * step, step);
            wide.log("val/acc", 0.6 + 0.03 * step, step);
        }
        t.close();  // before `wide` ends: it stays RUNNING, as after a crash
    }
    {
        mltrack::tracker t{make_config("other"), mltrack::sinks::jsonl(root)};
        auto run = t.start_run("r1");
        run.log_params({{"lr", 0.05}, {"note", "a \"quoted\" note"}});
        run.log_metrics({{"val/acc", 0.75}});
        run.end(mltrack::run_state::cancelled);
    }
}

}  // namespace cli_dataset
