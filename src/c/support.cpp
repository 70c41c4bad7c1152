// Why: the shared part of the C API (see support.hpp): the registries, the thread's last error (fixed
// buffers: recording an error never allocates, and a thread's exit frees nothing), the mapping of C++
// exceptions to status codes and ids, and the error functions of the header.
#include "support.hpp"

#include <cstdio>
#include <cstring>
#include <new>
#include <system_error>

namespace mltrack_c {

registry<std::shared_ptr<tracker_obj>> tracker_registry;
registry<std::shared_ptr<run_obj>> run_registry;
registry<mltrack::metric_handle> metric_registry;

namespace {

thread_local char last_message[1024];
thread_local char last_id[64];

/// Copies at most n-1 bytes of s and a NUL; cuts at a UTF-8 character boundary.
void copy_cut(char* dst, std::size_t n, std::string_view s) noexcept {
    std::size_t len = s.size() < n - 1 ? s.size() : n - 1;
    if (len < s.size())
        while (len > 0 && (static_cast<unsigned char>(s[len]) & 0xC0) == 0x80) --len;
    std::memcpy(dst, s.data(), len);
    dst[len] = '\0';
}

int status_of(mltrack::error_category c) noexcept {
    switch (c) {
        case mltrack::error_category::name: return MLTRACK_E_NAME;
        case mltrack::error_category::value: return MLTRACK_E_VALUE;
        case mltrack::error_category::shape: return MLTRACK_E_SHAPE;
        case mltrack::error_category::state: return MLTRACK_E_STATE;
        case mltrack::error_category::io: return MLTRACK_E_IO;
        case mltrack::error_category::format: return MLTRACK_E_FORMAT;
        case mltrack::error_category::config: return MLTRACK_E_CONFIG;
    }
    return MLTRACK_E_INTERNAL;
}

}  // namespace

int fail(int status, const char* id, std::string_view message) noexcept {
    char full_id[64];
    std::snprintf(full_id, sizeof full_id, "mltrack.error.%s", id);
    copy_cut(last_id, sizeof last_id, full_id);
    // The message starts with the id in brackets, like mltrack::error::what().
    char head[80];
    const int n = std::snprintf(head, sizeof head, "[%s] ", full_id);
    copy_cut(last_message, sizeof last_message, head);
    const std::size_t used = n > 0 ? std::strlen(last_message) : 0;
    copy_cut(last_message + used, sizeof last_message - used, message);
    return status;
}

int from_current_exception() noexcept {
    try {
        throw;
    } catch (const c_error& e) {
        return fail(e.status, e.id, e.message);
    } catch (const mltrack::error& e) {
        char id[48];
        std::snprintf(id, sizeof id, "%s.%d", mltrack::to_string(e.category()), e.id());
        // what() is "[mltrack.error.<cat>.<n>] message": keep only the message after the prefix.
        std::string_view what = e.what();
        const auto close = what.find("] ");
        if (what.rfind("[mltrack.error.", 0) == 0 && close != std::string_view::npos) what.remove_prefix(close + 2);
        return fail(status_of(e.category()), id, what);
    } catch (const std::bad_alloc&) {
        return fail(MLTRACK_E_NOMEM, "c.7", "out of memory (or the handle registry is full)");
    } catch (const std::filesystem::filesystem_error& e) {
        return fail(MLTRACK_E_IO, "c.10", e.what());
    } catch (const std::exception& e) {
        return fail(MLTRACK_E_INTERNAL, "c.8", e.what());
    } catch (...) {
        return fail(MLTRACK_E_INTERNAL, "c.8", "an unknown exception");
    }
}

std::string_view utf8_text(const char* s, const char* what) {
    const std::string_view v = text(s, what);
    for (std::size_t i = 0; i < v.size();) {
        const std::size_t n = mltrack::detail::utf8_sequence_length(v, i);
        if (n == 0)
            throw c_error{MLTRACK_E_ARGUMENT, "c.9",
                          std::string(what) + " is not valid UTF-8 at byte " + std::to_string(i)};
        i += n;
    }
    return v;
}

std::shared_ptr<tracker_obj> tracker_of(mltrack_tracker t) {
    std::shared_ptr<tracker_obj> p;
    if (!tracker_registry.get(t.id, p))
        throw c_error{MLTRACK_E_HANDLE, "c.3", "the tracker handle is not open (never opened, or closed)"};
    return p;
}

std::shared_ptr<run_obj> run_of(mltrack_run r) {
    std::shared_ptr<run_obj> p;
    if (!run_registry.get(r.id, p))
        throw c_error{MLTRACK_E_HANDLE, "c.3", "the run handle is not live (never started, ended, or its tracker closed)"};
    return p;
}

std::shared_ptr<run_obj> release_run(std::uint64_t handle) {
    std::shared_ptr<run_obj> p;
    if (!run_registry.remove(handle, &p)) return nullptr;
    std::lock_guard<std::mutex> lock(p->mutex);
    for (const std::uint64_t m : p->metrics) metric_registry.remove(m, nullptr);
    p->metrics.clear();
    return p;
}

}  // namespace mltrack_c

using namespace mltrack_c;

extern "C" {

MLTRACK_C_API const char* mltrack_last_error(void) { return last_message; }
MLTRACK_C_API const char* mltrack_last_error_id(void) { return last_id; }

MLTRACK_C_API const char* mltrack_status_string(int status) {
    switch (status) {
        case MLTRACK_OK: return "ok";
        case MLTRACK_E_ARGUMENT: return "invalid argument";
        case MLTRACK_E_HANDLE: return "invalid handle";
        case MLTRACK_E_NAME: return "invalid name";
        case MLTRACK_E_VALUE: return "invalid value";
        case MLTRACK_E_SHAPE: return "mismatched shape";
        case MLTRACK_E_STATE: return "not allowed in this state";
        case MLTRACK_E_IO: return "file system error";
        case MLTRACK_E_FORMAT: return "malformed file";
        case MLTRACK_E_CONFIG: return "invalid configuration";
        case MLTRACK_E_UNSUPPORTED: return "not built into this library";
        case MLTRACK_E_NOMEM: return "out of memory";
        case MLTRACK_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

MLTRACK_C_API const char* mltrack_version(void) { return MLTRACK_VERSION_STRING; }

}  // extern "C"
