// The C API's hot path allocates nothing: mltrack_metric_log (and mltrack_run_log with a key this thread
// has used) is called with a counting global operator new armed on this thread. The library is a shared
// object: its calls to operator new resolve to this program's replacement, so its allocations are counted.
// Also compiles the C header as C++ (extern "C").
#include <mltrack/c/mltrack.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

namespace {
thread_local bool armed = false;
std::atomic<long> counted{0};

void* counted_alloc(std::size_t n) {
    if (armed) counted.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

int failures = 0;
void check(bool ok, const char* what, long got) {
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "test_c_hot_path_alloc: %s (got %ld)\n", what, got);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: test_c_hot_path_alloc OUT_DIR\n");
        return 2;
    }
    std::filesystem::remove_all(argv[1]);
    // The check can fail: an allocation made while armed is seen.
    armed = true;
    counted.store(0);
    auto* v = new std::vector<int>(100);
    armed = false;
    check(counted.load() >= 1, "the counting operator new sees no allocation", counted.load());
    delete v;

    const std::string options = std::string("experiment=alloc; capture_environment=0; sink=jsonl:") + argv[1];
    mltrack_tracker t{};
    mltrack_run r{};
    mltrack_metric loss{};
    if (mltrack_tracker_open_options(options.c_str(), &t) != MLTRACK_OK ||
        mltrack_run_start(t, "r", MLTRACK_START_CREATE, &r, nullptr) != MLTRACK_OK ||
        mltrack_run_metric(r, "train/loss", &loss) != MLTRACK_OK) {
        std::fprintf(stderr, "test_c_hot_path_alloc: %s\n", mltrack_last_error());
        return 1;
    }
    // Warm-up: this thread's first use of a key fills its cache.
    mltrack_run_log(r, "train/acc", 0.5, 0);
    mltrack_metric_log(loss, 1.0, 0);
    mltrack_tracker_flush(t);

    int bad = 0;
    counted.store(0);
    armed = true;
    for (int i = 1; i <= 20000; ++i) bad += mltrack_metric_log(loss, 1.0 / i, i) != MLTRACK_OK;
    for (int i = 1; i <= 20000; ++i) bad += mltrack_metric_log(loss, 1.0 / i, MLTRACK_STEP_NEXT) != MLTRACK_OK;
    armed = false;
    check(counted.load() == 0, "mltrack_metric_log allocated", counted.load());
    counted.store(0);
    armed = true;
    for (int i = 1; i <= 20000; ++i) bad += mltrack_run_log(r, "train/acc", 0.5, i) != MLTRACK_OK;
    armed = false;
    check(counted.load() == 0, "mltrack_run_log with a known key allocated", counted.load());
    check(bad == 0, "a log call failed", bad);

    mltrack_run_end(r, MLTRACK_STATE_COMPLETE);
    mltrack_tracker_close(t);
    if (failures == 0) std::printf("test_c_hot_path_alloc: the C hot path allocated nothing\n");
    return failures == 0 ? 0 : 1;
}
