// Why: an artifact line of the JSONL sink must describe what the run folder really holds. The copy is made
// first (detail::copy_into: links followed, the run folder never copied into itself, the digest that of
// the bytes written), then the line records the copy's size and digest; when the copy fails, the line is a
// reference with metadata.copy_error and no path. Either way the caller waiting in log_artifact learns the
// outcome through the event's receipt.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "../../error.hpp"
#include "../../record.hpp"
#include "../files.hpp"
#include "jsonl_format.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The text of an mltrack::error without its "[mltrack.error.x.n] " prefix.
inline std::string error_text(const std::exception& e) {
    const std::string what = e.what();
    const auto at = what.find("] ");
    return dynamic_cast<const error*>(&e) && at != std::string::npos ? what.substr(at + 2) : what;
}

/// Copies the artifact of `e` (a record with a path) into `run_dir` and appends its line to `out`. Returns
/// the error to report when the copy failed (value.10 for a source containing the run folder, else io.13);
/// `copied` says whether a copy now stands at its path (the caller then drops the copy it replaced, once
/// the line is written: drop_aside).
inline std::optional<error> append_artifact_line(std::string& out, const std::filesystem::path& run_dir,
                                                 const event& e, bool& copied) {
    copied = false;
    const auto& a = e.payload->get_artifact();
    const auto to = run_dir / a.path;
    std::optional<error> failure;
    try {
        const auto d = copy_into(a.source, to, run_dir);
        copied = true;
        if (d.size != a.size || d.sha256 != a.sha256) {  // the source changed after the caller measured it
            record r = *e.payload;
            auto& stored = std::get<artifact>(r.payload);
            stored.size = d.size;
            stored.sha256 = d.sha256;
            append_record_line(out, r);
        } else {
            append_record_line(out, *e.payload);
        }
        if (e.receipt) {
            e.receipt->stored = true;
            e.receipt->size = d.size;
            e.receipt->sha256 = d.sha256;
        }
        return failure;
    } catch (const std::exception& ex) {
        const auto* me = dynamic_cast<const error*>(&ex);
        if (me && me->category() == error_category::value)
            failure = error(me->category(), me->id(), "artifact '" + a.name + "': " + error_text(ex));
        else
            failure = error(error_category::io, 13,
                            "cannot copy artifact '" + a.name + "' into " + to.string() + ": " + error_text(ex));
    }
    record r = *e.payload;  // written as a reference: there is no copy
    auto& ref = std::get<artifact>(r.payload);
    ref.path.clear();
    ref.metadata["copy_error"] = error_text(*failure);
    append_record_line(out, r);
    if (e.receipt) {
        e.receipt->failed = true;
        e.receipt->failure_category = failure->category();
        e.receipt->failure_id = failure->id();
        e.receipt->failure_message = error_text(*failure);
    }
    return failure;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
