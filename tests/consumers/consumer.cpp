// A consumer of mltrack (one program, built by every route in tests/consumers/): logs one run to JSONL, checks
// that DIR/consumer-exp/r1/events.jsonl exists and is not empty, and reads the run back.
// Usage: consumer DIR      exit status 0 when all of that holds
#include <mltrack/mltrack.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer DIR\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    {
        mltrack::tracker t{{"consumer-exp"}, mltrack::sinks::jsonl{dir}};
        auto r = t.start_run("r1");
        r.log_params({{"lr", 0.1}});
        r.metric("loss").log(0.5, 0);
        r.end();
    }
    const std::filesystem::path events = dir / "consumer-exp" / "r1" / "events.jsonl";
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(events, ec);
    if (ec || size == 0) {
        std::fprintf(stderr, "consumer: %s is missing or empty\n", events.string().c_str());
        return 1;
    }
    const auto run = mltrack::read_run(dir / "consumer-exp" / "r1");
    if (run.state != mltrack::run_state::complete || run.series.at("loss").back().value != 0.5) {
        std::fprintf(stderr, "consumer: the run did not read back\n");
        return 1;
    }
    std::printf("consumer: ok, mltrack %s wrote %ju bytes\n", mltrack::version_string, size);
    return 0;
}
