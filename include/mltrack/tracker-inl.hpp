// Why: the bodies of tracker_base's cold calls (starting a run and deciding on the caller's thread whether it
// resumes), apart from the class so that in compiled mode (detail/compiled.hpp) they are compiled once.
#pragma once

#include "tracker.hpp"

MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE run tracker_base::start_run(std::string_view name, start_mode mode, nlohmann::json metadata,
                                std::initializer_list<std::pair<std::string_view, std::string_view>> tags) {
    auto r = start_run(name, mode, std::move(metadata));
    if (tags.size()) r.set_tags(tags);
    return r;
}

MLTRACK_INLINE run tracker_base::start_run(std::string_view name, start_mode mode,
                  nlohmann::json metadata) {
    require_open();
    validate_name("run name", name);
    std::string n(name);
    const auto id = core_->next_run_id();
    if (!core_->claim_run_name(n, id))
        throw error(error_category::state, 6, "run '" + n + "' is already open in this tracker");
    auto c = std::make_unique<detail::cold_item>();
    c->operation = detail::op::run_open;
    c->mode = mode;
    c->capture_environment = core_->cfg().capture_environment;
    c->run = id;
    run_info info;
    info.id = id;
    info.experiment = core_->cfg().experiment;
    info.name = n;
    info.start_time_ns = core_->now();
    info.metadata = metadata.is_object() ? std::move(metadata) : nlohmann::json::object();
    info.rank = core_->policy() == rank_policy::every ? core_->rank().rank : 0;
    info.world_size = core_->rank().world_size;
    c->rec.kind = record_kind::run_start;
    c->rec.time_ns = info.start_time_ns;
    if (!core_->inert()) {
        try {
            if (auto resumed = decide_here(info, mode)) {  // no wait for the writer thread
                info.resumed = *resumed;
                c->checked = true;
                c->rec.payload = std::move(info);
                core_->push_cold(std::move(c));
                return run(core_, id, core_->cfg().experiment, n, *resumed);
            }
        } catch (...) {
            core_->release_run_name(n);
            throw;
        }
    }
    c->rec.payload = std::move(info);
    auto done = std::make_shared<detail::ticket>();
    c->done = done;
    try {
        core_->push_cold(std::move(c));
    } catch (...) {
        core_->release_run_name(n);
        throw;
    }
    return run(core_, id, core_->cfg().experiment, n, done->flag);
}

MLTRACK_INLINE std::optional<bool> tracker_base::decide_here(const run_info& info, start_mode mode) {
    const auto seen = core_->claim_run(info, false);
    if (seen.ask_writer) return std::nullopt;
    const bool exists = seen.exists.value_or(false);
    if (mode == start_mode::create && exists) throw detail::run_exists_error(info);
    if (mode == start_mode::resume && seen.exists && !exists) throw detail::run_missing_error(info);
    if (mode == start_mode::resume || exists) return true;
    if (core_->claim_run(info, true).exists.value_or(false)) {  // another process made it just now
        if (mode == start_mode::create) throw detail::run_exists_error(info);
        return true;
    }
    return false;
}
// Out of line, so that the type-erased sink set (a class template with virtual functions) is instantiated
// once in compiled mode, not in every translation unit that makes a tracker.
MLTRACK_INLINE tracker::tracker(config cfg, std::vector<sinks::any> sinks)
    : tracker_base(std::move(cfg), detail::make_sink_set([v = std::move(sinks)](auto&& f) mutable {
                       for (auto& s : v) f(s);
                   })) {}

MLTRACK_NAMESPACE_END
