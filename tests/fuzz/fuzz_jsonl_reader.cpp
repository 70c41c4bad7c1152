// libFuzzer target: mltrack's JSONL reader (mltrack/reader.hpp, read_run) on arbitrary file contents, in
// strict and lenient mode and with a small line limit. Allowed outcomes: a run, or mltrack::error.
// Anything else (another exception type, a crash, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include <mltrack/reader.hpp>

namespace {

std::string file_path() {
    static const std::string p = [] {
        const char* tmp = std::getenv("TMPDIR");
        return std::string(tmp && *tmp ? tmp : "/tmp") + "/mltrack-fuzz-jsonl-" + std::to_string(::getpid()) + ".jsonl";
    }();
    return p;
}

void read_with(const mltrack::read_options& o) {
    try {
        const auto run = mltrack::read_run(file_path(), o);
        // Folded state must be consistent with the records it came from.
        std::size_t points = 0;
        for (const auto& kv : run.series) points += kv.second.size();
        if (run.records.empty()) std::abort();  // a run without its run_start cannot be returned
        (void)points;
    } catch (const mltrack::error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::FILE* f = std::fopen(file_path().c_str(), "wb");
    if (!f) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    mltrack::read_options o;
    read_with(o);
    o.strict = false;
    read_with(o);
    o.max_line_bytes = 64;
    read_with(o);
    return 0;
}
