// libFuzzer target: how the Vertex AI sink reads what the service answers (include/mltrack/detail/
// vertex/rest.hpp, vertex/auth.hpp, http.hpp and sinks/vertex_ai.hpp): the google.rpc.Status error body
// (parse_api_error, describe), a JSON body (parse_body) walked as the sink walks list and create answers
// (learn_series over tensorboardTimeSeries, the "-tb-run" link, createTime, nextPageToken, operation
// "done"/"response"), the Retry-After header (delta-seconds or an HTTP-date) and the token endpoint's
// answer (credentials::accept).
// Input: the first line is the Retry-After value, the rest the body. The sink's engine turns any
// std::exception from a step into a dropped step, so std::exception is an allowed outcome; a crash, another
// exception type or a sanitizer report is a finding.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <mltrack/sinks/vertex_ai.hpp>

namespace md = mltrack::detail;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // The credentials used below must not come from the environment.
    for (const char* v : {"GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG",
                          "GCE_METADATA_HOST", "GCE_METADATA_ROOT", "MLTRACK_TOKEN_ENDPOINT"})
        ::unsetenv(v);
    ::setenv("HOME", "/nonexistent", 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto nl = in.find('\n');
    md::http_response r;
    r.status = 400 + static_cast<long>(size % 200);
    if (nl != std::string_view::npos) {
        r.headers.emplace_back("retry-after", std::string(in.substr(0, nl)));
        r.body = std::string(in.substr(nl + 1));
    } else {
        r.body = std::string(in);
    }
    // Retry-After: never negative, never more than a day.
    if (const auto ra = r.retry_after()) {
        if (ra->count() < 0 || ra->count() > 86400 * 1000) std::abort();
    }
    (void)md::describe(md::parse_api_error(r));
    if (md::parse_api_error(r).message.size() > 503) std::abort();

    try {
        const auto j = md::parse_body(r);
        md::vx_run run;
        if (j.contains("tensorboardTimeSeries"))
            for (const auto& ts : j["tensorboardTimeSeries"]) run.learn_series(ts);
        (void)md::linked_tensorboard_run(j);
        (void)md::tensorboard_experiment_of(md::linked_tensorboard_run(j));
        (void)md::parse_rfc3339(md::str_of(j, "createTime"));
        (void)md::parse_rfc3339(std::string(in));
        (void)j.value("nextPageToken", std::string());
        (void)j.value("name", std::string());
        if (j.value("done", false) && j.contains("response")) (void)j["response"].value("name", std::string());
    } catch (const std::exception&) {
    }

    // The token endpoint's answer, as the metadata server and as an OAuth endpoint (status 200).
    for (bool metadata : {false, true}) {
        md::auth_config cfg;
        cfg.metadata_host = "127.0.0.1:9";
        cfg.use_metadata_server = metadata;
        if (!metadata) cfg.access_token = "fuzz-token";
        try {
            auto creds = md::credentials::discover(cfg);
            md::http_result res;
            res.ok = true;
            res.response = r;
            res.response.status = 200;
            if (size % 2) res.response.headers.emplace_back("metadata-flavor", "Google");
            bool retryable = false;
            creds.accept(res, md::credentials::clock::now(), retryable);
            (void)creds.fresh(md::credentials::clock::now());
        } catch (const mltrack::error&) {
        }
    }
    return 0;
}
