// A consumer of mltrack: logs one run to JSONL and checks that its events file was written.
// Usage: consumer DIR   (exit 0 when DIR/consumer-exp/r1/events.jsonl exists and is not empty)
#include <mltrack/mltrack.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    {
        mltrack::tracker t{{"consumer-exp"}, mltrack::sinks::jsonl{dir}};
        auto r = t.start_run("r1");
        r.log_params({{"lr", 0.1}});
        r.metric("loss").log(0.5, 0);
        r.end();
    }
    const std::filesystem::path events = std::filesystem::path(dir) / "consumer-exp" / "r1" / "events.jsonl";
    std::error_code ec;
    const auto size = std::filesystem::file_size(events, ec);
    if (ec || size == 0) {
        std::fprintf(stderr, "consumer: %s is missing or empty\n", events.string().c_str());
        return 1;
    }
    std::printf("consumer: mltrack %s wrote %s (%ju bytes)\n", mltrack::version_string, events.string().c_str(),
                static_cast<std::uintmax_t>(size));
    return 0;
}
