// Must not compile: a std::vector is not a param. The test checks that the compiler's message says what a
// param may be and names the type (tests/CMakeLists.txt: compile_fail_param).
#include <mltrack/mltrack.hpp>

#include <vector>

int main() {
    mltrack::tracker t{{"e"}, mltrack::sinks::jsonl{"runs"}};
    auto run = t.start_run("r");
    run.log_params({{"layers", std::vector<int>{64, 32}}});
}
