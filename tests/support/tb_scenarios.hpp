// The flows in which TensorBoard used to mis-show runs (resume, preemption and requeue, a sync that stops
// mid-step, a replay done twice, steps beyond int32, several experiments in one logdir, non-ASCII params),
// written with the library the way a user would: trackers with the JSONL and TensorBoard sinks, `mltrack
// sync`'s own replay, crashes in forked children. The unit test (test_tensorboard_view.cpp) checks what the
// model of TensorBoard's rules shows of each; tests/tensorboard_real/ loads the same folders into TensorBoard
// itself and compares.
#pragma once

#include <mltrack/reader.hpp>
#include <mltrack/replay.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/tracker.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace tbscen {

namespace fs = std::filesystem;

inline std::atomic<std::int64_t> clock_ns{1'764'384'000'000'000'000};
inline std::int64_t scenario_clock() noexcept { return clock_ns.fetch_add(1'000'000); }  // +1 ms per reading

/// An inline (synchronous) tracker with a deterministic clock and no environment capture.
inline mltrack::config cfg(const std::string& experiment) {
    mltrack::config c{experiment};
    c.dispatch = mltrack::dispatch_mode::inline_;
    c.clock = scenario_clock;
    c.capture_environment = false;
    return c;
}

/// Dies at once, ending no run and closing nothing: a crash, or a kill -9 after the last flush.
[[noreturn]] inline void die() { ::_exit(0); }

/// Runs `body` in a child process, which must end by die() (with its trackers still in scope).
inline void in_crashing_child(const std::function<void()>& body) {
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
        try {
            body();
        } catch (...) {
        }
        ::_exit(3);  // body returned or threw without die()
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("the crashing child failed");
    clock_ns += 10'000'000'000;  // the child's clock went on
}

/// `mltrack sync --to tensorboard` as the command does it: a new sink per sync, replay from the cursor
/// streamed from the file (lenient), close; returns the next cursor.
inline std::size_t sync_once(const fs::path& run_dir, const fs::path& tb, std::size_t cursor) {
    mltrack::sinks::tensorboard sink{tb};
    mltrack::replay_options o;
    o.from_record = cursor;
    mltrack::read_options lenient;
    lenient.strict = false;
    const std::size_t next = mltrack::replay(run_dir, sink, o, lenient);
    sink.close();
    return next;
}

/// Binary classification metrics with ROC points: a confusion-matrix image and table and a PR curve.
inline void log_binary_classification(mltrack::run& run) {
    run.log_classification_metrics({"cat", "dog"}, {{40, 10}, {5, 45}}, {0.0, 0.2, 1.0}, {0.0, 0.9, 1.0},
                                   {0.9, 0.5, 0.1}, "validation");
}

/// A declared hparams experiment: lr in [1e-4, 1], optimizer in {adam, sgd}, one metric, val/accuracy.
inline mltrack::sinks::tensorboard_options declared_options() {
    mltrack::tensorboard_hparam lr, opt;
    lr.name = "lr";
    lr.type = mltrack::tensorboard_hparam_type::float64;
    lr.interval = std::make_pair(1e-4, 1.0);
    opt.name = "optimizer";
    opt.type = mltrack::tensorboard_hparam_type::string;
    opt.values = {"adam", "sgd"};
    mltrack::tensorboard_metric acc;
    acc.tag = "val/accuracy";
    mltrack::sinks::tensorboard_options o;
    o.experiment = mltrack::tensorboard_experiment{};
    o.experiment->hparams = {lr, opt};
    o.experiment->metrics = {acc};
    return o;
}

struct scenario {
    std::string name;
    std::string what;
    /// Writes the scenario under `root`; returns the logdir TensorBoard is pointed at.
    std::function<fs::path(const fs::path& root)> write;
};

inline std::vector<scenario> all() {
    using namespace mltrack;
    std::vector<scenario> s;

    s.push_back({"quickstart", "one run with every record kind", [](const fs::path& root) {
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("lr-0.1", start_mode::create, {{"team", "vision"}});
                     run.log_params({{"lr", 0.1}, {"batch", 64}, {"optimizer", "adam"}, {"augment", true}});
                     auto loss = run.metric("train/loss");
                     for (int i = 0; i < 20; ++i) {
                         loss.log(1.0 / (1 + i), i);
                         if (i % 5 == 4) run.log("val/acc", 0.5 + 0.02 * i, i);
                     }
                     run.log_histogram("weights", {0.1, 0.2, 0.2, 0.5, 0.9}, 19);
                     run.log_metrics({{"final/acc", 0.88}});
                     log_binary_classification(run);
                     return root / "tb";
                 }});

    s.push_back({"resume_at_image",
                 "preempted after an image and a PR curve at step 9; resumed from the checkpoint at step 5",
                 [](const fs::path& root) {
                     {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("r", start_mode::create, {{"attempt", 1}});
                         run.log_params({{"lr", 0.1}, {"optimizer", "adam"}});
                         for (int i = 0; i < 10; ++i) run.log("loss", 10.0 - i, i);
                         log_binary_classification(run);
                         run.end(run_state::preempted);
                     }
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("r", start_mode::resume);
                     for (int i = 5; i < 15; ++i) run.log("loss", 20.0 - i, i);
                     return root / "tb";
                 }});

    s.push_back({"crash_resume", "killed after a flush at step 9, resumed at step 10, completed",
                 [](const fs::path& root) {
                     in_crashing_child([&] {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("r");
                         run.log_params({{"lr", 0.1}});
                         for (int i = 0; i < 10; ++i) run.log("loss", 10.0 - i, i);
                         t.flush();
                         die();
                     });
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("r", start_mode::resume);
                     for (int i = 10; i < 20; ++i) run.log("loss", 20.0 - i, i);
                     return root / "tb";
                 }});

    s.push_back({"preempt_requeue", "preempted, requeued with other params, completed", [](const fs::path& root) {
                     {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("job-42");
                         run.log_params({{"steps", 100}, {"optimizer", "sgd"}});
                         for (int i = 0; i < 5; ++i) run.log("loss", 5.0 - i, i);
                         run.end(run_state::preempted);
                     }
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("job-42", start_mode::resume);
                     run.log_params({{"steps", 200}});
                     for (int i = 5; i < 10; ++i) run.log("loss", 5.0 - i, i);
                     return root / "tb";  // the run ends COMPLETE here
                 }});

    s.push_back({"resume_after_end", "completed, resumed, failed; and completed, resumed, killed", [](const fs::path& root) {
                     for (const char* name : {"failed", "killed"}) {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run(name);
                         run.log_params({{"lr", 0.5}});
                         run.log("loss", 1.0, 0);
                     }
                     {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("failed", start_mode::resume);
                         run.log("loss", 0.5, 1);
                         run.end(run_state::failed);
                     }
                     in_crashing_child([&] {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("killed", start_mode::resume);
                         run.log("loss", 0.5, 1);
                         t.flush();
                         die();
                     });
                     return root / "tb";
                 }});

    s.push_back({"three_openings", "started, resumed twice: one run/metadata", [](const fs::path& root) {
                     for (int k = 0; k < 3; ++k) {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("r", k == 0 ? start_mode::create : start_mode::resume,
                                                {{"team", "vision"}, {"host", "node-" + std::to_string(k)}});
                         for (int i = 0; i < 3; ++i) run.log("loss", 1.0 / (1 + 3 * k + i), 3 * k + i);
                     }
                     return root / "tb";
                 }});

    s.push_back({"sync_split_step", "two syncs, the first stopping between two metrics of step 5", [](const fs::path& root) {
                     const fs::path run_dir = root / "jsonl" / "exp" / "r";
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}};
                     auto run = t.start_run("r");
                     run.log_params({{"lr", 0.1}});
                     std::size_t cursor = 0;
                     for (int i = 0; i < 10; ++i) {
                         run.log("loss", 10.0 - i, i);
                         t.flush();
                         if (i == 5) cursor = sync_once(run_dir, root / "tb", cursor);  // loss@5 sent, acc@5 not yet
                         run.log("acc", 0.1 * i, i);
                         t.flush();
                     }
                     run.end();
                     t.flush();
                     sync_once(run_dir, root / "tb", cursor);
                     return root / "tb";
                 }});

    s.push_back({"replay_twice", "a run with steps -5..4 replayed twice into one logdir", [](const fs::path& root) {
                     {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}};
                         auto run = t.start_run("r");
                         run.log_params({{"lr", 0.1}});
                         for (int i = -5; i < 5; ++i) run.log("loss", 1.0 + i, i);
                     }
                     for (int k = 0; k < 2; ++k) sync_once(root / "jsonl" / "exp" / "r", root / "tb", 0);
                     return root / "tb";
                 }});

    s.push_back({"huge_steps", "steps 0..4, then 2^31 + 7 and 2^40; a summary metric after", [](const fs::path& root) {
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("r");
                     run.log_params({{"lr", 0.1}});
                     for (int i = 0; i < 5; ++i) run.log("loss", 5.0 - i, i);
                     run.log("loss", 0.5, (std::int64_t{1} << 31) + 7);
                     run.log("loss", 0.25, std::int64_t{1} << 40);
                     run.log_metrics({{"final/loss", 0.25}});
                     return root / "tb";
                 }});

    s.push_back({"resume_summary", "resumed with no new points: the summary at the step the run reached", [](const fs::path& root) {
                     in_crashing_child([&] {
                         tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                         auto run = t.start_run("r");
                         run.log_params({{"lr", 0.1}});
                         for (int i = 0; i < 10; ++i) run.log("loss", 10.0 - i, i);
                         t.flush();
                         die();
                     });
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("r", start_mode::resume);
                     run.log_metrics({{"final/loss", 1.0}});
                     return root / "tb";
                 }});

    s.push_back({"groups_and_unicode", "two runs with one `group`, non-ASCII and quoted string params", [](const fs::path& root) {
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     const char* values[] = {u8"\u503c", "say \"hi\""};
                     for (int k = 0; k < 2; ++k) {
                         auto run = t.start_run("seed-" + std::to_string(k), start_mode::create, {{"group", "sweep-a"}});
                         run.log_params({{"seed", k}, {"label", values[k]}});
                         run.log("loss", 1.0 + k, 0);
                     }
                     return root / "tb";
                 }});

    s.push_back({"declared_alone", "one experiment with declared columns in its own logdir", [](const fs::path& root) {
                     tracker t{cfg("exp"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb", declared_options()}};
                     for (int k = 0; k < 2; ++k) {
                         auto run = t.start_run("lr-" + std::to_string(k));
                         run.log_params({{"lr", 0.1 * (k + 1)}, {"optimizer", k ? "sgd" : "adam"}, {"seed", 7}});
                         run.log("val/accuracy", 0.5 + 0.1 * k, 3);
                         run.log("train/loss", 1.0 - 0.1 * k, 3);
                     }
                     return root / "tb";
                 }});

    s.push_back({"two_experiments", "a declared experiment, then another experiment in the same logdir", [](const fs::path& root) {
                     {
                         tracker t{cfg("a"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb", declared_options()}};
                         auto run = t.start_run("lr-1");
                         run.log_params({{"lr", 0.1}, {"optimizer", "adam"}});
                         run.log("val/accuracy", 0.5, 3);
                     }
                     tracker t{cfg("b"), sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
                     auto run = t.start_run("depth-4");
                     run.log_params({{"depth", 4}, {"eta", 0.3}});
                     run.log("rmse", 0.25, 10);
                     return root / "tb";
                 }});

    return s;
}

}  // namespace tbscen
