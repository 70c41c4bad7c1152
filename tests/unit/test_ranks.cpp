// ranks.hpp: rank and world size from launcher variables, the policy (config and MLTRACK_RANKS), inert
// trackers on ranks that do not write, and every-rank files read back as one run with ranks.
#include <atomic>
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <dirent.h>

#include "support/tb_decoder.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;
using unit::temp_dir;

const char* const launcher_vars[] = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                                     "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "PMIX_RANK", "SLURM_PROCID",
                                     "SLURM_NTASKS", "RANK", "WORLD_SIZE", "MLTRACK_RANKS"};

/// Clears every launcher variable for the test's duration and restores them after.
class clean_env {
public:
    clean_env() {
        for (const char* n : launcher_vars) {
            const char* v = std::getenv(n);
            saved_.emplace(n, v ? std::optional<std::string>(v) : std::nullopt);
            ::unsetenv(n);
        }
    }
    ~clean_env() {
        for (auto& kv : saved_) {
            if (kv.second) ::setenv(kv.first.c_str(), kv.second->c_str(), 1);
            else ::unsetenv(kv.first.c_str());
        }
    }
    void set(const char* n, const char* v) { ::setenv(n, v, 1); }

private:
    std::map<std::string, std::optional<std::string>> saved_;
};

int thread_count() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

std::size_t count_files(const fs::path& root) {
    std::size_t n = 0;
    std::error_code ec;
    if (!fs::exists(root, ec)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file() ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("detect_rank: no launcher is rank 0 of 1") {
    clean_env env;
    const auto r = mltrack::detect_rank();
    CHECK(r.rank == 0);
    CHECK(r.world_size == 1);
    CHECK(r.source == "none");
}

TEST_CASE("detect_rank: each launcher's variables, and Open MPI before SLURM") {
    clean_env env;
    SUBCASE("Open MPI") {
        env.set("OMPI_COMM_WORLD_RANK", "3");
        env.set("OMPI_COMM_WORLD_SIZE", "8");
        env.set("SLURM_PROCID", "5");  // srun + mpirun: the MPI launcher's own numbering wins
        env.set("SLURM_NTASKS", "16");
        const auto r = mltrack::detect_rank();
        CHECK(r.rank == 3);
        CHECK(r.world_size == 8);
        CHECK(r.source == "OMPI_COMM_WORLD_RANK");
    }
    SUBCASE("MPICH / Hydra PMI") {
        env.set("PMI_RANK", "1");
        env.set("PMI_SIZE", "2");
        CHECK(mltrack::detect_rank().rank == 1);
        CHECK(mltrack::detect_rank().source == "PMI_RANK");
    }
    SUBCASE("PMIx takes its size from SLURM") {
        env.set("PMIX_RANK", "6");
        env.set("SLURM_NTASKS", "12");
        const auto r = mltrack::detect_rank();
        CHECK(r.rank == 6);
        CHECK(r.world_size == 12);
        CHECK(r.source == "PMIX_RANK");
    }
    SUBCASE("SLURM") {
        env.set("SLURM_PROCID", "63");
        env.set("SLURM_NTASKS", "64");
        const auto r = mltrack::detect_rank();
        CHECK(r.rank == 63);
        CHECK(r.world_size == 64);
    }
    SUBCASE("torchrun") {
        env.set("RANK", "2");
        env.set("WORLD_SIZE", "4");
        CHECK(mltrack::detect_rank().world_size == 4);
        CHECK(mltrack::detect_rank().source == "RANK");
    }
    SUBCASE("garbage and impossible values are skipped, the next source is used") {
        env.set("OMPI_COMM_WORLD_RANK", "two");
        env.set("OMPI_COMM_WORLD_SIZE", "4");
        env.set("PMI_RANK", "5");
        env.set("PMI_SIZE", "4");  // rank not below size
        env.set("SLURM_PROCID", "-1");
        env.set("RANK", "1");
        env.set("WORLD_SIZE", "2");
        const auto r = mltrack::detect_rank();
        CHECK(r.rank == 1);
        CHECK(r.source == "RANK");
    }
    SUBCASE("a rank without a size counts at least rank + 1 ranks") {
        env.set("SLURM_PROCID", "4");
        CHECK(mltrack::detect_rank().world_size == 5);
    }
}

TEST_CASE("policy: config, MLTRACK_RANKS wins, a typo is an error") {
    clean_env env;
    CHECK(mltrack::rank_policy_from_env(mltrack::rank_policy::every) == mltrack::rank_policy::every);
    env.set("MLTRACK_RANKS", "zero");
    CHECK(mltrack::rank_policy_from_env(mltrack::rank_policy::every) == mltrack::rank_policy::zero);
    env.set("MLTRACK_RANKS", "every");
    CHECK(mltrack::rank_policy_from_env(mltrack::rank_policy::zero) == mltrack::rank_policy::every);
    env.set("MLTRACK_RANKS", "evrey");
    CHECK_ERROR_ID("config.3", mltrack::rank_policy_from_env(mltrack::rank_policy::zero));
    temp_dir dir;
    CHECK_ERROR_ID("config.3", mltrack::tracker(mltrack::config{"e"}, mltrack::sinks::jsonl{dir.path()}));
}

TEST_CASE("config overrides: rank and world size; a rank not below the size is an error") {
    clean_env env;
    env.set("SLURM_PROCID", "1");
    env.set("SLURM_NTASKS", "4");
    temp_dir dir;
    mltrack::config c{"e"};
    c.rank = 0;
    mltrack::tracker t{c, mltrack::sinks::jsonl{dir.path()}};
    CHECK_FALSE(t.inert());
    CHECK(t.rank().rank == 0);
    CHECK(t.rank().world_size == 4);
    CHECK(t.rank().source == "config");
    mltrack::config bad{"e"};
    bad.rank = 4;
    bad.world_size = 4;
    CHECK_ERROR_ID("config.4", mltrack::tracker(bad, mltrack::sinks::jsonl{dir.path()}));
}

namespace {
std::atomic<int> clock_reads{0};
std::int64_t counting_clock() noexcept {
    clock_reads.fetch_add(1);
    return 1'000'000'000;
}
}  // namespace

TEST_CASE("an inert rank's point logging (handle, key, time series) never reads the clock") {
    clean_env env;
    temp_dir dir;
    mltrack::config cfg{"exp"};
    cfg.rank = 1;
    cfg.world_size = 2;
    cfg.clock = counting_clock;
    mltrack::tracker t{cfg, mltrack::sinks::jsonl{dir / "runs"}};
    REQUIRE(t.inert());
    auto run = t.start_run("r");
    auto loss = run.metric("loss");
    clock_reads = 0;
    for (int i = 0; i < 100; ++i) {
        loss.log(1.0, i);
        run.log("acc", 0.5, i);
        run.log_time_series({{"a", 1.0}, {"b", 2.0}}, i);
    }
    CHECK(clock_reads == 0);
    // the same calls on rank 0 read it once per point
    cfg.rank = 0;
    mltrack::tracker live{cfg, mltrack::sinks::jsonl{dir / "live"}};
    auto r0 = live.start_run("r");
    auto l0 = r0.metric("loss");
    clock_reads = 0;
    for (int i = 0; i < 100; ++i) {
        l0.log(1.0, i);
        r0.log("acc", 0.5, i);
        r0.log_time_series({{"a", 1.0}, {"b", 2.0}}, i);  // one time for both values
    }
    CHECK(clock_reads == 300);
}

TEST_CASE("rank_policy::zero: rank 0 writes, other ranks are inert (no thread, no files) and accept every call") {
    clean_env env;
    temp_dir dir;
    const int threads_before = thread_count();
    {
        env.set("OMPI_COMM_WORLD_RANK", "2");
        env.set("OMPI_COMM_WORLD_SIZE", "4");
        mltrack::tracker t{{"exp"}, mltrack::sinks::jsonl{dir / "runs"}, mltrack::sinks::tensorboard{dir / "tb"}};
        CHECK(t.inert());
        CHECK(t.rank().rank == 2);
        CHECK(thread_count() == threads_before);  // no writer thread
        auto run = t.start_run("r");
        CHECK(run.active());
        run.log_params({{"lr", 0.1}});
        auto loss = run.metric("loss");
        for (int i = 0; i < 1000; ++i) loss.log(1.0 / (i + 1), i);
        run.log("acc", 0.5, 1);
        run.log_metrics({{"final", 1.0}});
        CHECK_ERROR_ID("name.6", run.log("bad key\n", 1.0, 0));  // the same input errors as on rank 0
        t.flush();
        run.end();
        CHECK(t.stats().enqueued == 0);
    }
    CHECK(count_files(dir.path()) == 0);
    CHECK(thread_count() == threads_before);
    {
        env.set("OMPI_COMM_WORLD_RANK", "0");
        mltrack::tracker t{{"exp"}, mltrack::sinks::jsonl{dir / "runs"}};
        CHECK_FALSE(t.inert());
        auto run = t.start_run("r");
        auto loss = run.metric("loss");
        for (int i = 0; i < 1000; ++i) loss.log(1.0 / (i + 1), i);
    }
    const auto back = mltrack::read_run(dir / "runs" / "exp" / "r");
    CHECK(back.series.at("loss").size() == 1000);
    CHECK(back.world_size == 4);
    CHECK(back.rank == 0);
    CHECK(back.ranks.empty());
}

TEST_CASE("rank_policy::every: one file and one TensorBoard folder per rank, read back as one run with ranks") {
    clean_env env;
    temp_dir dir;
    const int world = 4;
    const auto model = dir / "model.bin";
    unit::write_file(model, "weights");
    for (int r = 0; r < world; ++r) {  // one tracker per rank, as separate processes would
        mltrack::config c{"exp"};
        c.ranks = mltrack::rank_policy::every;
        c.rank = r;
        c.world_size = world;
        mltrack::tracker t{c, mltrack::sinks::jsonl{dir / "runs"}, mltrack::sinks::tensorboard{dir / "tb"}};
        CHECK_FALSE(t.inert());
        auto run = t.start_run("job");
        run.log_params({{"rank", std::int64_t{r}}});
        auto loss = run.metric("loss");
        for (int i = 0; i < 100 * (r + 1); ++i) loss.log(r + 1.0 / (i + 1), i);
        run.log_model(model, {"custom", "1"});
    }
    const fs::path run_dir = dir / "runs" / "exp" / "job";
    CHECK(fs::exists(run_dir / "events.jsonl"));
    for (int r = 1; r < world; ++r) CHECK(fs::exists(run_dir / ("events.rank-" + std::to_string(r) + ".jsonl")));

    // The independent reader sees rank and world size in each file's first line.
    const auto head = unit::parse_jsonl(run_dir / "events.rank-3.jsonl").front();
    CHECK(head["rank"] == 3);
    CHECK(head["world_size"] == 4);

    const auto back = mltrack::read_run(run_dir);
    CHECK(back.rank == 0);
    CHECK(back.world_size == world);
    REQUIRE(back.ranks.size() == world - 1);
    for (int r = 0; r < world; ++r) {
        const auto* d = back.rank_data(r);
        REQUIRE(d != nullptr);
        CHECK(d->rank == r);
        CHECK(d->series.at("loss").size() == static_cast<std::size_t>(100 * (r + 1)));
        CHECK(d->params.at("rank").as_int() == r);
        CHECK(d->state == mltrack::run_state::complete);
        REQUIRE(d->artifacts.size() == 1);
        const auto copy = d->artifact_path(d->artifacts[0]);  // each rank's own copy, never shared
        CHECK(unit::read_file(copy) == "weights");
        CHECK(copy.parent_path().filename() == (r == 0 ? "artifacts" : "artifacts.rank-" + std::to_string(r)));
    }
    CHECK(back.rank_data(world) == nullptr);

    // TensorBoard: rank 0 in the run folder, rank r in <run>/rank-<r>/, each decoded independently.
    for (int r = 0; r < world; ++r) {
        fs::path d = dir / "tb" / "exp" / "job";
        if (r > 0) d /= "rank-" + std::to_string(r);
        std::size_t files = 0, points = 0;
        for (const auto& e : fs::directory_iterator(d)) {
            if (!e.is_regular_file() || e.path().filename().string().find("mltrack-session") != std::string::npos)
                continue;
            ++files;
            for (const auto& ev : tbdec::decode_file(e.path().string()).events)
                for (const auto& v : ev.values) points += v.tag == "loss" ? 1 : 0;
        }
        CHECK(files == 1);
        CHECK(points == static_cast<std::size_t>(100 * (r + 1)));
    }

    // A resume per rank continues that rank's file only.
    {
        mltrack::config c{"exp"};
        c.ranks = mltrack::rank_policy::every;
        c.rank = 2;
        c.world_size = world;
        mltrack::tracker t{c, mltrack::sinks::jsonl{dir / "runs"}};
        auto run = t.start_run("job", mltrack::start_mode::resume);
        CHECK(run.resumed());
        run.log("loss", 0.0, 300);
    }
    const auto again = mltrack::read_run(run_dir);
    CHECK(again.rank_data(2)->series.at("loss").size() == 301);
    CHECK(again.rank_data(1)->series.at("loss").size() == 200);
    CHECK(again.series.at("loss").size() == 100);
}

TEST_CASE("events file names: rank <-> name, and what is not a rank file") {
    using mltrack::detail::events_file_name;
    using mltrack::detail::events_file_rank;
    CHECK(events_file_name(0) == "events.jsonl");
    CHECK(events_file_name(12) == "events.rank-12.jsonl");
    for (int r : {0, 1, 7, 63, 100000}) CHECK(events_file_rank(events_file_name(r)) == r);
    for (const char* bad : {"events.rank-.jsonl", "events.rank-0.jsonl", "events.rank-01.jsonl", "events.rank-x.jsonl",
                            "events.rank-1.json", "events.rank-1234567890.jsonl", "other.jsonl", "events.rank--1.jsonl"})
        CHECK(events_file_rank(bad) == -1);
}
