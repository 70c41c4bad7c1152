// Must not compile: a bool is not a summary metric (tests/CMakeLists.txt: compile_fail_summary).
#include <mltrack/mltrack.hpp>

int main() {
    mltrack::tracker t{{"e"}, mltrack::sinks::jsonl{"runs"}};
    auto run = t.start_run("r");
    run.log_summary({{"converged", true}});
}
