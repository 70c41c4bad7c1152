// libFuzzer target, differential: the fast path for metrics lines (detail/jsonl/fast_metrics_line.hpp)
// against the general parse (nlohmann + fold_line) on one arbitrary line. Whenever the fast path accepts a
// line, the general path must accept it too and give the same step, time, keys (in order) and values bit
// for bit; otherwise the readers would disagree on a file. A disagreement, a crash or a sanitizer report
// (an overflow on a huge time, say) is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <mltrack/detail/jsonl/fast_metrics_line.hpp>
#include <mltrack/detail/jsonl/fold_line.hpp>

namespace {

bool same(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    if (line.find('\n') != std::string_view::npos) return 0;  // one line only
    static mltrack::detail::fast_metrics_line fast;
    if (!fast.parse(line)) return 0;
    mltrack::run_data run;
    mltrack::record r;
    try {
        const auto j = nlohmann::json::parse(line.begin(), line.end());
        if (!mltrack::detail::fold_line(run, j, 2, r)) std::abort();
    } catch (...) {
        std::abort();  // the fast path took a line the general path refuses
    }
    if (r.kind != mltrack::record_kind::metric || r.step != fast.step || r.time_ns != fast.time_ns) std::abort();
    const auto& v = r.get_values();
    if (v.size() != fast.values.size()) std::abort();
    for (std::size_t i = 0; i < v.size(); ++i) {
        // nlohmann keeps object keys sorted; find each fast key there.
        bool found = false;
        for (const auto& kv : v)
            if (kv.first == fast.values[i].first) {
                if (!same(kv.second, fast.values[i].second)) std::abort();
                found = true;
            }
        if (!found) std::abort();
    }
    return 0;
}
