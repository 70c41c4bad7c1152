// A consumer project's program: logs a run through the library it was built against and checks the file.
#include <mltrack/mltrack.hpp>

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
        auto r = t.start_run("r1", mltrack::start_mode::create_or_resume);
        r.log_params({{"lr", 0.1}});
        r.metric("loss").log(0.5, 0);
        r.end();
    }
    const auto run = mltrack::read_run(dir / "consumer-exp" / "r1");
    if (run.state != mltrack::run_state::complete || run.series.at("loss").back().value != 0.5) {
        std::fprintf(stderr, "consumer: the run did not read back\n");
        return 1;
    }
    std::printf("consumer: ok (mltrack %s)\n", mltrack::version_string);
    return 0;
}
