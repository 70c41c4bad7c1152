// The `mltrack` command on a run logged by every rank of a job (rank_policy::every): ls adds a ranks column,
// show lists every rank, export has a rank column, check validates every rank's file, and sync sends each
// rank to its own TensorBoard folder with its own cursor (a second sync sends nothing).
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>

#include <string>
#include <vector>

#include "cli/cli_support.hpp"
#include "support/tb_decoder.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;
constexpr int world = 3;

/// Rank r logs 10 * (r + 1) points of "loss".
void write_job(const fs::path& root) {
    for (int r = 0; r < world; ++r) {
        mltrack::config c{"exp"};
        c.ranks = mltrack::rank_policy::every;
        c.rank = r;
        c.world_size = world;
        c.capture_environment = false;
        mltrack::tracker t{c, mltrack::sinks::jsonl{root}};
        auto run = t.start_run("job");
        run.log_params({{"lr", 0.1}});
        for (int i = 0; i < 10 * (r + 1); ++i) run.log("loss", 1.0 / (i + 1), i);
    }
}

std::size_t tb_points(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file())
            for (const auto& ev : tbdec::decode_file(e.path().string()).events)
                for (const auto& v : ev.values) n += v.tag == "loss" ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("ls, show, export and check see every rank of a run") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    write_job(d / "root");
    const std::string run_dir = (d / "root" / "exp" / "job").string();

    auto r = cli_test::run({"ls", (d / "root").string(), "-f", "csv"});
    CHECK(r.status == 0);
    const auto rows = cli_test::parse_csv(r.out);
    REQUIRE(rows.size() == 2);
    const auto col = std::find(rows[0].begin(), rows[0].end(), "ranks") - rows[0].begin();
    REQUIRE(col < static_cast<long>(rows[0].size()));
    CHECK(rows[1][static_cast<std::size_t>(col)] == "3");

    r = cli_test::run({"show", run_dir});
    CHECK(r.status == 0);
    CHECK(r.out.find("\nranks (3)\n") != std::string::npos);
    r = cli_test::run({"show", run_dir, "-f", "json"});
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["world_size"] == world);
    REQUIRE(j["ranks"].size() == world - 1);
    for (int k = 1; k < world; ++k) {
        CHECK(j["ranks"][k - 1]["rank"] == k);
        CHECK(j["ranks"][k - 1]["series"]["loss"]["count"] == 10 * (k + 1));
    }

    r = cli_test::run({"export", run_dir, "-f", "csv"});
    CHECK(r.status == 0);
    const auto points = cli_test::parse_csv(r.out);
    std::vector<int> per_rank(world, 0);
    for (std::size_t i = 1; i < points.size(); ++i) ++per_rank.at(static_cast<std::size_t>(std::stoi(points[i][2])));
    CHECK(per_rank == std::vector<int>{10, 20, 30});

    CHECK(cli_test::run({"check", (d / "root").string()}).status == 0);
    unit::append_file(d / "root" / "exp" / "job" / "events.rank-2.jsonl", "{not json}\n");
    r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("events.rank-2.jsonl:") != std::string::npos);
}

TEST_CASE("sync: each rank to its own TensorBoard folder, with its own cursor") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    write_job(d / "root");
    const std::string to = "tensorboard:" + (d / "tb").string();
    auto r = cli_test::run({"sync", (d / "root").string(), "--to", to});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 3 runs") != std::string::npos);
    CHECK(tb_points(d / "tb" / "exp" / "job") == 10);
    CHECK(tb_points(d / "tb" / "exp" / "job" / "rank-1") == 20);
    CHECK(tb_points(d / "tb" / "exp" / "job" / "rank-2") == 30);
    r = cli_test::run({"sync", (d / "root").string(), "--to", to});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 0 runs") != std::string::npos);
    CHECK(r.out.find("3 up to date") != std::string::npos);
    CHECK(tb_points(d / "tb" / "exp" / "job" / "rank-2") == 30);
}
