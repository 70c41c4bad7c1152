// Why: mltrack names allow [A-Za-z0-9._-] (1-128 bytes) while Vertex AI ids allow only [a-z0-9-], with
// lengths that depend on the resource (context ids 4-128, and the run context id "<experiment>-<run>" at
// most 121 so that "<id>-tb-run" fits in 128). The mapping must be deterministic (a later sync or resume
// finds the same resources), readable, and must not merge two different names into one id. Rule:
//
//   1. lowercase, and map every character outside [a-z0-9-] to '-';
//   2. if that changed anything, or the result is shorter than the minimum or longer than the maximum,
//      cut it to (maximum - 7) characters, drop trailing '-', and append '-' + the first 6 hex digits of
//      SHA-256(original name).
//
// So "mnist-cnn" stays "mnist-cnn", "MNIST_cnn" becomes "mnist-cnn-<6 hex>", "lr-0.01" "lr-0-01-<6 hex>".
// Experiment ids get at least 4 and at most 64 characters; run ids at most 120 - len(experiment id), so
// the run context id always fits. Display names keep the original names. Records without a name of their
// own (classification metrics, artifacts, executions) get ids hashed from the run and the record, so a
// retried create or a later sync of the same JSONL record finds the resource it already made.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "../sha256.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::size_t vertex_experiment_id_max = 64;
inline constexpr std::size_t vertex_run_context_id_max = 121;  // 128 - len("-tb-run")

/// Maps a name to a Vertex AI id of [a-z0-9-] with min_len <= length <= max_len (see the rule above).
inline std::string vertex_id(std::string_view name, std::size_t min_len, std::size_t max_len) {
    std::string s;
    s.reserve(name.size());
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') s += static_cast<char>(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') s += c;
        else s += '-';
    }
    if (s == name && s.size() >= min_len && s.size() <= max_len) return s;
    const std::string hash = sha256::of(name).substr(0, 6);
    if (s.size() > max_len - 7) s.resize(max_len - 7);
    while (!s.empty() && s.back() == '-') s.pop_back();
    return s.empty() ? hash : s + "-" + hash;
}

/// The Vertex id of an experiment (context id, TensorBoard experiment id): 4 to 64 characters.
inline std::string vertex_experiment_id(std::string_view experiment) {
    return vertex_id(experiment, 4, vertex_experiment_id_max);
}

/// The Vertex id of a run (TensorBoard run id): at most 120 - len(experiment id) characters, so that the
/// run context id "<experiment id>-<run id>" is at most 121.
inline std::string vertex_run_id(std::string_view experiment_id, std::string_view run) {
    return vertex_id(run, 1, vertex_run_context_id_max - 1 - experiment_id.size());
}

/// The run context id, as the Python SDK forms it: "<experiment id>-<run id>".
inline std::string vertex_run_context_id(std::string_view experiment_id, std::string_view run_id) {
    return std::string(experiment_id) + "-" + std::string(run_id);
}

/// A deterministic id for a record of a run: "<prefix>-<24 hex of SHA-256(parts)>".
inline std::string vertex_record_id(std::string_view prefix, std::string_view run_context_id,
                                    std::string_view what) {
    sha256 h;
    h.update(run_context_id);
    h.update("\n", 1);
    h.update(what);
    return std::string(prefix) + "-" + h.hex_digest().substr(0, 24);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
