// libFuzzer target: the TensorBoard event-file checker behind `mltrack check`
// (tools/mltrack/check_tensorboard.hpp): check_tensorboard() on arbitrary file contents and
// check_tensorboard_event() on arbitrary payloads. Allowed outcome: a list of problems; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

#include "check_tensorboard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = [] {
        const char* tmp = std::getenv("TMPDIR");
        return std::string(tmp && *tmp ? tmp : "/tmp") + "/mltrack-fuzz-tb-" + std::to_string(::getpid()) +
               ".out.tfevents";
    }();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    const auto result = mltrack_cli::check_tensorboard(path);
    if (result.problems.empty() && size > 0 && result.lines == 0) std::abort();  // bytes but neither records nor problems
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    (void)mltrack_cli::check_tensorboard_event(0, payload);
    (void)mltrack_cli::check_tensorboard_event(1, payload);
    return 0;
}
