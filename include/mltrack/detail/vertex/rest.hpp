// Why: what every Vertex AI call shares, whoever makes it (the sink's non-blocking loop, or the blocking
// client that lists and deletes): where the endpoints are (with the overrides that let a fake server or a
// private endpoint stand in), how a google.rpc.Status error body reads (409 means ALREADY_EXISTS or
// ABORTED: only error.status tells), which failures are worth retrying, and the backoff between tries
// (exponential with jitter, never shorter than the server's Retry-After).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../http/http.hpp"
#include "auth.hpp"
#include "env.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The API base URL for a location (no trailing "/v1"): an explicit endpoint, MLTRACK_VERTEX_ENDPOINT, or
/// the regional endpoint the Python SDK uses.
inline std::string vertex_api_base(const std::string& explicit_endpoint, const std::string& location) {
    std::string e = first_of({explicit_endpoint, env_value("MLTRACK_VERTEX_ENDPOINT")});
    if (e.empty()) {
        if (location == "global") e = "https://aiplatform.googleapis.com";
        else if (location == "us" || location == "eu") e = "https://aiplatform." + location + ".rep.googleapis.com";
        else e = "https://" + location + "-aiplatform.googleapis.com";
    }
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (e.size() >= 3 && e.compare(e.size() - 3, 3, "/v1") == 0) e.resize(e.size() - 3);
    check_url(e);
    return e;
}

/// The Cloud Storage JSON API base URL: explicit, MLTRACK_GCS_ENDPOINT, or storage.googleapis.com.
inline std::string gcs_api_base(const std::string& explicit_endpoint) {
    std::string e = first_of({explicit_endpoint, env_value("MLTRACK_GCS_ENDPOINT"), "https://storage.googleapis.com"});
    while (!e.empty() && e.back() == '/') e.pop_back();
    check_url(e);
    return e;
}

/// A google.rpc.Status error body (or MLflow's {"error_code", "message"}), read leniently.
struct api_error {
    long http = 0;
    std::string status;   ///< "ALREADY_EXISTS", "ABORTED", "NOT_FOUND"...
    std::string message;
};

inline api_error parse_api_error(const http_response& r) {
    api_error e;
    e.http = r.status;
    try {
        const auto j = nlohmann::json::parse(r.body);
        if (j.is_object() && j.contains("error") && j["error"].is_object()) {
            const auto& err = j["error"];
            if (err.contains("status") && err["status"].is_string()) e.status = err["status"].get<std::string>();
            if (err.contains("message") && err["message"].is_string()) e.message = err["message"].get<std::string>();
        } else if (j.is_object() && j.contains("error_code") && j["error_code"].is_string()) {  // MLflow's form
            e.status = j["error_code"].get<std::string>();
            if (j.contains("message") && j["message"].is_string()) e.message = j["message"].get<std::string>();
        }
    } catch (const std::exception&) {
    }
    if (e.message.size() > 500) e.message = e.message.substr(0, 500) + "...";
    return e;
}

/// "HTTP 409 ALREADY_EXISTS: Context with name ... already exists".
inline std::string describe(const api_error& e) {
    std::string s = "HTTP " + std::to_string(e.http);
    if (!e.status.empty()) s += " " + e.status;
    if (!e.message.empty()) s += ": " + e.message;
    return s;
}

/// Statuses that say "try again later": 408, 429, 500, 502, 503, 504.
inline bool retryable_status(long status) noexcept {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/// Exponential backoff with jitter: attempt n (1-based) waits initial * 2^(n-1), capped at max, times a
/// random factor in [0.5, 1], and never less than the server's Retry-After.
struct backoff_policy {
    std::chrono::milliseconds initial{1000};
    std::chrono::milliseconds max{60000};

    std::chrono::milliseconds delay(unsigned attempt, std::optional<std::chrono::milliseconds> retry_after,
                                    std::mt19937_64& rng) const {
        double d = static_cast<double>(initial.count());
        for (unsigned i = 1; i < attempt && d < static_cast<double>(max.count()); ++i) d *= 2;
        d = std::min(d, static_cast<double>(max.count()));
        std::uniform_real_distribution<double> jitter(0.5, 1.0);
        auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(d * jitter(rng)));
        if (retry_after && *retry_after > ms) ms = std::min(*retry_after, std::chrono::milliseconds(15 * 60 * 1000));
        return ms;
    }
};

/// Adds the Authorization (and, for user credentials, x-goog-user-project) headers.
inline void authorize(http_request& r, const credentials& c) {
    if (c.kind() == credential_kind::fixed_header) {
        if (!c.token().empty()) r.headers.push_back("Authorization: " + c.token());
        return;
    }
    r.headers.push_back("Authorization: Bearer " + c.token());
    if (!c.quota_project().empty()) r.headers.push_back("x-goog-user-project: " + c.quota_project());
}

/// A blocking caller with retries, for cold operations outside the sink's loop (exists(), list, delete).
class rest_caller {
public:
    rest_caller(credentials creds, http_options http = {}, backoff_policy backoff = {}, unsigned max_attempts = 6)
        : creds_(std::move(creds)), http_(std::move(http)), backoff_(backoff), max_attempts_(max_attempts),
          rng_(std::random_device{}()) {}

    credentials& creds() noexcept { return creds_; }
    http_client& http() noexcept { return http_; }

    /// Sends with auth, retrying transport failures, 401 (after a token refresh) and retryable statuses.
    /// Returns the last response; throws io.40 when no response ever came.
    http_response call(const http_request& request) {
        bool refreshed = false;
        for (unsigned attempt = 1;; ++attempt) {
            http_request r = request;
            creds_.blocking_token(http_);
            authorize(r, creds_);
            auto res = http_.perform(std::move(r));
            if (res.ok && res.response.status == 401 && !refreshed && creds_.refreshable()) {
                creds_.invalidate();
                refreshed = true;
                --attempt;
                continue;
            }
            const bool retry = res.ok ? retryable_status(res.response.status) : res.retryable;
            if (!retry || attempt >= max_attempts_) {
                if (res.ok) return std::move(res.response);
                throw error(error_category::io, 40, res.error);
            }
            std::this_thread::sleep_for(
                backoff_.delay(attempt, res.ok ? res.response.retry_after() : std::nullopt, rng_));
        }
    }

    /// call() that requires a 2xx and returns the JSON body; throws io.41 otherwise.
    nlohmann::json call_json(const http_request& request) {
        auto r = call(request);
        if (r.status < 200 || r.status >= 300)
            throw error(error_category::io, 41,
                        request.method + " " + url_for_message(request.url) + ": " + describe(parse_api_error(r)));
        if (r.body.empty()) return nlohmann::json::object();
        try {
            return nlohmann::json::parse(r.body);
        } catch (const std::exception&) {
            throw error(error_category::io, 41, request.method + " " + url_for_message(request.url) +
                                                    ": the response is not JSON");
        }
    }

private:
    credentials creds_;
    http_client http_;
    backoff_policy backoff_;
    unsigned max_attempts_;
    std::mt19937_64 rng_;
};

inline http_request json_request(std::string method, std::string url, const nlohmann::json* body = nullptr) {
    http_request r;
    r.method = std::move(method);
    r.url = std::move(url);
    if (body) {
        r.body = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        r.headers.push_back("Content-Type: application/json");
    } else if (r.method == "POST") {
        r.body = "{}";
        r.headers.push_back("Content-Type: application/json");
    }
    return r;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
