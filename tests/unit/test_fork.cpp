// Fork safety (detail/engine/core.hpp): a forked child's copy of a tracker is inert. It never joins the parent's
// writer thread (which the child does not have), never takes a lock a parent thread may hold, and never
// flushes the parent's buffered lines a second time. A tracker made in the child works normally.
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>

#include <chrono>
#include <set>
#include <thread>
#include <utility>

#include <sys/wait.h>
#include <unistd.h>

#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

/// Runs `child` in a forked process (which _exits with its result); returns the wait status.
template <class F>
int in_child(F&& child) {
    const int status = unit::run_forked(std::forward<F>(child));
    INFO("child status " << status << (WIFSIGNALED(status) ? " (killed by signal " : " (exit ")
                         << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)) << ")");
    CHECK(WIFEXITED(status));
    return status;
}

/// Steps of the "loss" points in a run file, in file order, checking there are no duplicates.
std::vector<std::int64_t> loss_steps(const fs::path& file) {
    std::vector<std::int64_t> steps;
    for (const auto& j : unit::of_kind(unit::parse_jsonl(file), "metrics"))
        if (j["values"].contains("loss")) steps.push_back(j["step"].get<std::int64_t>());
    return steps;
}

}  // namespace

TEST_CASE("fork: the child's copy is inert and the parent's buffered lines are written once") {
    unit::temp_dir dir;
    mltrack::config c{"exp"};
    c.flush_interval = std::chrono::hours(1);  // lines stay in the sink's buffer across the fork
    mltrack::tracker t{c, mltrack::sinks::jsonl{dir / "runs"}, mltrack::sinks::tensorboard{dir / "tb"}};
    auto run = t.start_run("r");
    auto loss = run.metric("loss");
    for (int i = 0; i < 500; ++i) loss.log(i, i);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the writer has them buffered, not flushed
    CHECK_FALSE(t.inert());

    const int status = in_child([&] {
        if (!t.inert()) return 10;
        for (int i = 0; i < 1000; ++i) loss.log(-1.0, 100000 + i);  // nothing of this reaches a file
        run.log("other", 1.0, 0);  // interns: no lock of the parent's is taken
        run.log_params({{"child", true}});
        t.flush();
        auto second = t.start_run("from-child");  // accepted and ignored, like on an inert rank
        second.end();
        run.end();
        t.close();
        return 0;  // the tracker's and run's destructors run at the parent's scope end, not here
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    for (int i = 500; i < 1000; ++i) loss.log(i, i);
    run.end();
    t.close();
    const fs::path file = dir / "runs" / "exp" / "r" / "events.jsonl";
    const auto steps = loss_steps(file);
    REQUIRE(steps.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(steps[static_cast<std::size_t>(i)] == i);
    const auto lines = unit::parse_jsonl(file);
    CHECK(unit::of_kind(lines, "params").empty());
    CHECK(unit::of_kind(lines, "run_end").size() == 1);
    CHECK_FALSE(fs::exists(dir / "runs" / "exp" / "from-child"));
}

TEST_CASE("fork: destroying the copied tracker in the child neither hangs nor writes") {
    unit::temp_dir dir;
    auto t = std::make_unique<mltrack::tracker>(mltrack::config{"exp"}, mltrack::sinks::jsonl{dir / "runs"});
    auto run = std::make_unique<mltrack::run>(t->start_run("r"));
    run->log("loss", 1.0, 0);
    t->flush();
    const auto size_before = fs::file_size(dir / "runs" / "exp" / "r" / "events.jsonl");
    const int status = in_child([&] {
        run->log("loss", 2.0, 1);
        run.reset();  // ~run: end() in the child is a no-op
        t.reset();    // ~tracker: no join of the parent's thread, no close of the parent's files
        return 0;
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(fs::file_size(dir / "runs" / "exp" / "r" / "events.jsonl") == size_before);
    run->log("loss", 3.0, 2);
    run.reset();
    t.reset();
    const auto steps = loss_steps(dir / "runs" / "exp" / "r" / "events.jsonl");
    CHECK(steps == std::vector<std::int64_t>{0, 2});
}

TEST_CASE("fork: a tracker made in the child writes normally") {
    unit::temp_dir dir;
    mltrack::tracker parent{{"exp"}, mltrack::sinks::jsonl{dir / "runs"}};
    auto prun = parent.start_run("parent");
    const int status = in_child([&] {
        mltrack::config c{"exp"};
#if defined(__SANITIZE_THREAD__)
        c.dispatch = mltrack::dispatch_mode::inline_;  // TSan cannot start threads after a multi-threaded fork
#endif
        mltrack::tracker mine{c, mltrack::sinks::jsonl{dir / "runs"}};
        if (mine.inert()) return 10;
        auto r = mine.start_run("child");
        for (int i = 0; i < 100; ++i) r.log("loss", i, i);
        return 0;
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    prun.log("loss", 1.0, 0);
    prun.end();
    parent.close();
    CHECK(loss_steps(dir / "runs" / "exp" / "child" / "events.jsonl").size() == 100);
    CHECK(loss_steps(dir / "runs" / "exp" / "parent" / "events.jsonl").size() == 1);
}
