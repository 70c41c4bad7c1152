// default_run.hpp: mltrack::log and friends log to the default run, do nothing without one, and a run stops
// being the default when it ends or is destroyed (a moved run stays it).
#include <mltrack/default_run.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/tracker.hpp>

#include <thread>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;

namespace {
/// Deep in some library: no run& in sight.
void train_step(int step) {
    mltrack::log("loss", 1.0 / (step + 1), step);
    mltrack::log({{"lr", 0.1}, {"grad_norm", 2.0}}, step);
}
}  // namespace

TEST_CASE("mltrack::log logs to the default run, from any thread; nothing happens without one") {
    unit::temp_dir dir;
    CHECK(default_run() == nullptr);
    CHECK_NOTHROW(mltrack::log("loss", 1.0, 0));  // no default run: nothing
    {
        tracker t{{"exp"}, sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        set_default_run(run);
        CHECK(default_run() == &run);
        mltrack::log_params({{"lr", 0.1}});
        mltrack::set_tag("team", "vision");
        std::vector<std::thread> threads;
        for (int k = 0; k < 4; ++k)
            threads.emplace_back([k] {
                for (int s = 0; s < 25; ++s) train_step(k * 25 + s);
            });
        for (auto& th : threads) th.join();
        mltrack::log("acc", 0.5);  // the next step of acc: 1
        mltrack::log_summary({{"best", 0.5}});
        auto moved = std::move(run);  // a moved run stays the default
        CHECK(default_run() == &moved);
        moved.end();
        CHECK(default_run() == nullptr);  // an ended run is no default
        CHECK_NOTHROW(mltrack::log("loss", 1.0, 0));
    }
    const auto r = read_run(dir / "exp" / "r");
    CHECK(r.series.at("loss").size() == 100);
    CHECK(r.series.at("lr").size() == 100);
    CHECK(r.series.at("acc").size() == 1);
    CHECK(r.series.at("acc")[0].step == 1);
    CHECK(r.params.at("lr").as_double() == 0.1);
    CHECK(r.tags.at("team") == "vision");
    CHECK(r.summary.at("best") == 0.5);
}

TEST_CASE("a default run that goes out of scope is cleared") {
    unit::temp_dir dir;
    tracker t{{"exp"}, sinks::jsonl{dir.path()}};
    {
        auto run = t.start_run("r");
        set_default_run(run);
    }
    CHECK(default_run() == nullptr);
    auto other = t.start_run("s");
    set_default_run(other);
    set_default_run(nullptr);
    CHECK(default_run() == nullptr);
}
