// Why: what every function of the C API shares: the objects behind the handles and their registries, the
// thread's last error, the checks of pointers, lengths and strings, and `guarded`, the one place where a C++
// exception becomes a status code (nothing may unwind into C or Fortran frames).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <mltrack/c/mltrack.h>
#include <mltrack/mltrack.hpp>

#include "registry.hpp"

namespace mltrack_c {

/// The object behind an mltrack_tracker. Its mutex serializes the cold calls that touch it.
struct tracker_obj {
    std::mutex mutex;
    std::unique_ptr<mltrack::tracker> tracker;
    std::vector<std::uint64_t> runs;  ///< handles of its runs not ended
};

/// The object behind an mltrack_run.
struct run_obj {
    std::mutex mutex;
    mltrack::run run;
    std::uint64_t tracker = 0;           ///< the handle of its tracker
    std::vector<std::uint64_t> metrics;  ///< handles of its metric handles
};

/// The registries of the three handle kinds (constant-initialized: usable before main and after exit).
extern registry<std::shared_ptr<tracker_obj>> tracker_registry;
extern registry<std::shared_ptr<run_obj>> run_registry;
extern registry<mltrack::metric_handle> metric_registry;

/// Records this thread's last error and returns `status`. `id` is the stable id without "mltrack.error.".
int fail(int status, const char* id, std::string_view message) noexcept;

/// The status of the exception being handled (call inside a catch block only), recorded as the last error.
int from_current_exception() noexcept;

/// A C-layer error, thrown inside `guarded` and turned into its status and id there.
struct c_error {
    int status;
    const char* id;
    std::string message;
};

/// Runs f (returning an int status) and turns any exception into a status code.
template <class F>
int guarded(F&& f) noexcept {
    try {
        return f();
    } catch (...) {
        return from_current_exception();
    }
}

/// Throws c.1 when `p` is NULL.
inline void need(const void* p, const char* what) {
    if (!p) throw c_error{MLTRACK_E_ARGUMENT, "c.1", std::string(what) + " is NULL"};
}

/// Throws c.2 when a count or length is negative.
inline void need_count(std::int64_t n, const char* what) {
    if (n < 0) throw c_error{MLTRACK_E_ARGUMENT, "c.2", std::string(what) + " is negative (" + std::to_string(n) + ")"};
}

/// A NUL-terminated argument as a view: c.1 when NULL.
inline std::string_view text(const char* s, const char* what) {
    need(s, what);
    return std::string_view(s);
}

/// A NUL-terminated argument that must be valid UTF-8 (a value that is written out as text): c.1 when NULL,
/// c.9 when not UTF-8. Names and keys are checked by the C++ validators instead (name.*), to keep their ids.
std::string_view utf8_text(const char* s, const char* what);

/// An optional NUL-terminated UTF-8 argument: empty when NULL.
inline std::string_view optional_utf8(const char* s, const char* what) {
    return s ? utf8_text(s, what) : std::string_view();
}

/// The live tracker of a handle (a reference taken under the registry's lock): c.3 otherwise.
std::shared_ptr<tracker_obj> tracker_of(mltrack_tracker t);
/// The live run of a handle: c.3 otherwise.
std::shared_ptr<run_obj> run_of(mltrack_run r);

/// Releases a run handle and the handles of its metrics; returns the object (nullptr when not live).
std::shared_ptr<run_obj> release_run(std::uint64_t handle);

}  // namespace mltrack_c
