// Why: Vertex AI ids allow only [a-z0-9-], starting with a letter or digit: context ids 4 to 128 characters,
// and the run context id "<experiment>-<run>" at most 121 (so that "<id>-tb-run" fits in 128). The Python
// SDK uses names as ids as they are (run context "<experiment>-<run>", TensorBoard run "<run>"), so a run
// is found by the name it is shown under only when the name itself is a valid id. This header checks that
// rule (the default: a name the service accepts maps 1:1, any other fails at start_run, name.40-42) and
// keeps the opt-in hashed mapping for arbitrary mltrack names ([A-Za-z0-9._-], 1-128 bytes):
//
//   1. lowercase, and map every character outside [a-z0-9-] to '-';
//   2. if that changed anything, or the result is shorter than the minimum or longer than the maximum,
//      cut it to (maximum - 7) characters, drop trailing '-', and append '-' + the first 6 hex digits of
//      SHA-256(original name).
//
// So "MNIST_cnn" becomes "mnist-cnn-<6 hex>", "lr-0.01" "lr-0-01-<6 hex>"; display names keep the original
// names. Records without a name of their own (classification metrics, artifacts, whole executions) get ids
// hashed from the run and the record, so a retried create or a later sync finds what it already made.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "../../error.hpp"
#include "../../names.hpp"
#include "../sha256.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::size_t vertex_experiment_id_max = 64;    // the hashed mapping's bound
inline constexpr std::size_t vertex_run_context_id_max = 121;  // 128 - len("-tb-run")

/// The service's id rule, as the messages state it.
inline constexpr const char* vertex_id_rule =
    "Vertex AI ids are lowercase letters, digits and '-', starting with a letter or digit; an experiment "
    "is 4 to 128 characters and '<experiment>-<run>' at most 121";

/// Where `name` breaks [a-z0-9][a-z0-9-]* (the offset of the first bad character), or npos.
inline std::size_t vertex_id_violation(std::string_view name) noexcept {
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-')) return i;
    }
    return std::string_view::npos;
}

/// Throws name.40 unless an experiment name is a valid Vertex AI context id (used as it is).
inline void check_vertex_experiment_name(std::string_view experiment) {
    const auto bad = vertex_id_violation(experiment);
    if (bad != std::string_view::npos || experiment.size() < 4 || experiment.size() > 128)
        throw error(error_category::name, 40,
                    "experiment '" + printable(experiment) + "' is not a Vertex AI id" +
                        (bad != std::string_view::npos ? " (character " + std::to_string(bad) + ")"
                                                       : " (" + std::to_string(experiment.size()) + " characters)") +
                        ": " + vertex_id_rule +
                        ". Rename it, or set vertex_ai_options::id_mapping = vertex_id_mapping::hashed");
}

/// Throws name.41 (run name) or name.42 (too long together) unless "<experiment>-<run>" is a valid run
/// context id made of the names as they are.
inline void check_vertex_run_name(std::string_view experiment, std::string_view run) {
    const auto bad = vertex_id_violation(run);
    if (bad != std::string_view::npos || run.empty())
        throw error(error_category::name, 41,
                    "run '" + printable(run) + "' is not a Vertex AI id" +
                        (run.empty() ? std::string() : " (character " + std::to_string(bad) + ")") + ": " +
                        vertex_id_rule + ". Rename it, or set vertex_ai_options::id_mapping = vertex_id_mapping::hashed");
    if (experiment.size() + 1 + run.size() > vertex_run_context_id_max)
        throw error(error_category::name, 42,
                    "'" + printable(experiment) + "-" + printable(run) + "' is " +
                        std::to_string(experiment.size() + 1 + run.size()) +
                        " characters: the run context id '<experiment>-<run>' is at most 121 (the Python SDK "
                        "refuses it too). Shorten the names, or set vertex_ai_options::id_mapping = "
                        "vertex_id_mapping::hashed");
}

/// The hashed mapping: a name to a Vertex AI id of [a-z0-9-] with min_len <= length <= max_len (see the
/// rule above).
/// Whether a tag can be a Vertex AI label: a key of 1 to 64 and a value of 0 to 64 lowercase letters, digits,
/// '_' and '-' (the service's rule, in the discovery document; international characters are left out here).
inline bool is_vertex_label(std::string_view key, std::string_view value) noexcept {
    auto ok = [](std::string_view s, std::size_t min) {
        if (s.size() < min || s.size() > 64) return false;
        for (char c : s)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
        return true;
    };
    return ok(key, 1) && ok(value, 0);
}

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

/// The hashed Vertex id of an experiment (context id, TensorBoard experiment id): 4 to 64 characters.
inline std::string vertex_experiment_id(std::string_view experiment) {
    return vertex_id(experiment, 4, vertex_experiment_id_max);
}

/// The hashed Vertex id of a run (TensorBoard run id): at most 120 - len(experiment id) characters, so that
/// the run context id "<experiment id>-<run id>" is at most 121.
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
