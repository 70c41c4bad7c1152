// Why: Vertex AI wants an OAuth access token, found the way Google's own libraries find it (Application
// Default Credentials): an explicit token, GOOGLE_OAUTH_ACCESS_TOKEN, the JSON file named by
// GOOGLE_APPLICATION_CREDENTIALS or gcloud's well-known ADC file (an authorized user refreshed with its
// refresh token, or a service account that signs its own RS256 JWT through OpenSSL), and last the GCE
// metadata server. Tokens are refreshed before they expire, live only in memory, and never appear in a
// message: errors name the credential source and the OAuth error code, nothing else.
//
// A refresh is a plain HTTP request built here and sent by the caller (blocking or from the sink's
// non-blocking loop), so the same code serves both. Every endpoint can be overridden (token endpoint,
// metadata host), which is how the tests' fake server stands in for Google.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../http/http.hpp"
#include "env.hpp"

#ifndef MLTRACK_VERTEX_USE_OPENSSL
#if defined(__has_include)
#if __has_include(<openssl/evp.h>) && __has_include(<openssl/pem.h>)
#define MLTRACK_VERTEX_USE_OPENSSL 1
#endif
#endif
#endif
#ifndef MLTRACK_VERTEX_USE_OPENSSL
#define MLTRACK_VERTEX_USE_OPENSSL 0
#endif

#if MLTRACK_VERTEX_USE_OPENSSL
#include <openssl/evp.h>
#include <openssl/pem.h>
#endif

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline constexpr const char* cloud_platform_scope = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr const char* default_token_uri = "https://oauth2.googleapis.com/token";
inline constexpr const char* default_metadata_host = "metadata.google.internal";

/// Where credentials come from; every field is optional (empty = the ADC chain decides).
struct auth_config {
    std::string access_token;       ///< an explicit token (never refreshed)
    std::string credentials_file;   ///< a JSON key or ADC file; default: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
    std::string token_endpoint;     ///< replaces the token URI (default: MLTRACK_TOKEN_ENDPOINT, else the file's)
    std::string metadata_host;      ///< host[:port] of the metadata server (default: GCE_METADATA_HOST, else
                                    ///< GCE_METADATA_ROOT, else metadata.google.internal)
    bool use_metadata_server = true;  ///< the last resort of the chain
    bool service_account_token_exchange = false;  ///< service accounts: exchange the JWT for an access token at
                                                  ///< the token URI (AIP-4112) instead of using it (AIP-4111)
    std::chrono::seconds refresh_margin{300};     ///< refresh this long before expiry
};

inline std::string base64url(std::string_view in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                       (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8) |
                       std::uint32_t(static_cast<unsigned char>(in[i + 2]));
        out += t[(n >> 18) & 63];
        out += t[(n >> 12) & 63];
        out += t[(n >> 6) & 63];
        out += t[n & 63];
    }
    if (i + 1 == in.size()) {
        const auto n = std::uint32_t(static_cast<unsigned char>(in[i])) << 16;
        out += t[(n >> 18) & 63];
        out += t[(n >> 12) & 63];
    } else if (i + 2 == in.size()) {
        const auto n = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                       (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8);
        out += t[(n >> 18) & 63];
        out += t[(n >> 12) & 63];
        out += t[(n >> 6) & 63];
    }
    return out;
}

/// Whether this build can sign service-account JWTs (OpenSSL headers were found and are linked).
inline constexpr bool have_rs256 = MLTRACK_VERTEX_USE_OPENSSL != 0;

/// RSASSA-PKCS1-v1_5 SHA-256 signature of `input` with a PEM private key. Throws config.44 without OpenSSL,
/// config.43 for a key that does not load (the message never contains the key).
inline std::string rs256_sign(const std::string& pem, std::string_view input) {
#if MLTRACK_VERTEX_USE_OPENSSL
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    if (bio) BIO_free(bio);
    if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        if (key) EVP_PKEY_free(key);
        throw error(error_category::config, 43, "the service account's private_key is not a readable RSA PEM key");
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::string sig;
    std::size_t len = 0;
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
    if (ok) {
        sig.resize(len);
        ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(&sig[0]), &len,
                            reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
        sig.resize(len);
    }
    if (ctx) EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok) throw error(error_category::io, 42, "signing the service account JWT failed (OpenSSL)");
    return sig;
#else
    (void)pem;
    (void)input;
    throw error(error_category::config, 44,
                "service account keys need OpenSSL to sign JWTs, and this build has none: install the OpenSSL "
                "headers (libssl-dev) and link libcrypto, or use an authorized_user ADC file, "
                "GOOGLE_OAUTH_ACCESS_TOKEN or the metadata server");
#endif
}

/// fixed_header: a complete Authorization header value that never changes, or none at all (the MLflow
/// sink's bearer token or basic credentials, or a server without auth).
enum class credential_kind { static_token, authorized_user, service_account, metadata_server, fixed_header };

inline const char* to_string(credential_kind k) noexcept {
    switch (k) {
        case credential_kind::static_token: return "access token";
        case credential_kind::authorized_user: return "authorized user";
        case credential_kind::service_account: return "service account";
        case credential_kind::metadata_server: return "metadata server";
        case credential_kind::fixed_header: return "fixed header";
    }
    return "credentials";
}

/// One source of access tokens, with its cached token.
class credentials {
public:
    using clock = std::chrono::system_clock;

    /// Follows the ADC order. Throws config.43 for an unreadable or unsupported credentials file.
    static credentials discover(const auth_config& cfg) {
        credentials c;
        c.cfg_ = cfg;
        const std::string token = first_of({cfg.access_token, env_value("GOOGLE_OAUTH_ACCESS_TOKEN")});
        if (!token.empty()) {
            c.kind_ = credential_kind::static_token;
            c.source_ = cfg.access_token.empty() ? "GOOGLE_OAUTH_ACCESS_TOKEN" : "the access_token option";
            c.token_ = token;
            c.expiry_ = clock::time_point::max();
            return c;
        }
        std::string file = first_of({cfg.credentials_file, env_value("GOOGLE_APPLICATION_CREDENTIALS")});
        if (file.empty()) {
            const std::string config_dir = env_value("CLOUDSDK_CONFIG");
            const std::string home = env_value("HOME");
            std::filesystem::path well_known;
            if (!config_dir.empty()) well_known = std::filesystem::path(config_dir) / "application_default_credentials.json";
            else if (!home.empty())
                well_known = std::filesystem::path(home) / ".config" / "gcloud" / "application_default_credentials.json";
            std::error_code ec;
            if (!well_known.empty() && std::filesystem::exists(well_known, ec)) file = well_known.string();
        }
        if (!file.empty()) {
            c.load_file(file);
            return c;
        }
        if (!cfg.use_metadata_server)
            throw error(error_category::config, 45,
                        "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth "
                        "application-default login`, set GOOGLE_OAUTH_ACCESS_TOKEN, or pass an access token");
        c.kind_ = credential_kind::metadata_server;
        c.metadata_host_ = first_of({cfg.metadata_host, env_value("GCE_METADATA_HOST"), env_value("GCE_METADATA_ROOT"),
                                     default_metadata_host});
        c.source_ = "the metadata server at " + c.metadata_host_ +
                    " (no other credentials found: set GOOGLE_APPLICATION_CREDENTIALS outside Google Cloud)";
        return c;
    }

    /// A fixed Authorization header value ("Bearer x", "Basic y"), or "" to send none; never refreshed.
    static credentials fixed(std::string authorization, std::string source) {
        credentials c;
        c.kind_ = credential_kind::fixed_header;
        c.token_ = std::move(authorization);
        c.source_ = std::move(source);
        c.expiry_ = clock::time_point::max();
        return c;
    }

    credential_kind kind() const noexcept { return kind_; }
    /// Whether a 401 can be cured by fetching a new token.
    bool refreshable() const noexcept {
        return kind_ != credential_kind::static_token && kind_ != credential_kind::fixed_header;
    }
    /// Where the credentials come from, for messages ("service account a@b from /path/key.json").
    const std::string& source() const noexcept { return source_; }
    /// The project the credentials name (service account project_id, or a user's quota project).
    const std::string& project() const noexcept { return project_; }
    /// For user credentials: the project billed for quota (sent as x-goog-user-project).
    const std::string& quota_project() const noexcept { return quota_project_; }
    const std::string& metadata_host() const noexcept { return metadata_host_; }

    /// True while the cached token has more than the refresh margin left.
    bool fresh(clock::time_point now = clock::now()) const noexcept {
        if (kind_ == credential_kind::fixed_header) return true;
        if (token_.empty()) return false;
        if (expiry_ == clock::time_point::max()) return true;
        return now + cfg_.refresh_margin < expiry_;
    }
    /// True while the token can still be used (a failed refresh keeps using it until it really expires).
    bool usable(clock::time_point now = clock::now()) const noexcept {
        if (kind_ == credential_kind::fixed_header) return true;
        return !token_.empty() && (expiry_ == clock::time_point::max() || now + std::chrono::seconds(10) < expiry_);
    }
    const std::string& token() const noexcept { return token_; }
    clock::time_point expiry() const noexcept { return expiry_; }
    /// Refreshes counted over the life of these credentials.
    std::uint64_t refreshes() const noexcept { return refreshes_; }

    /// Forgets the token (after a 401), so the next call refreshes it. Static tokens cannot be refreshed.
    void invalidate() noexcept {
        if (refreshable()) {
            token_.clear();
            expiry_ = {};
        }
    }

    /// The request that refreshes the token, or nullopt when the refresh happened locally (a self-signed
    /// JWT) or is impossible (a static token). Throws config.43/44 when a JWT cannot be signed.
    std::optional<http_request> refresh_request(clock::time_point now = clock::now()) {
        switch (kind_) {
            case credential_kind::static_token:
            case credential_kind::fixed_header: return std::nullopt;
            case credential_kind::service_account: {
                if (!cfg_.service_account_token_exchange) {
                    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
                    nlohmann::json claims{{"iss", client_email_}, {"sub", client_email_}, {"iat", iat},
                                          {"exp", iat + 3600}, {"scope", cloud_platform_scope}};
                    token_ = sign_jwt(claims);
                    expiry_ = clock::time_point(std::chrono::seconds(iat + 3600));
                    ++refreshes_;
                    return std::nullopt;
                }
                const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
                nlohmann::json claims{{"iss", client_email_}, {"scope", cloud_platform_scope}, {"aud", token_uri_},
                                      {"iat", iat}, {"exp", iat + 3600}};
                http_request r;
                r.method = "POST";
                r.url = token_uri_;
                r.headers.push_back("Content-Type: application/x-www-form-urlencoded");
                r.body = "grant_type=" + url_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                         "&assertion=" + url_encode(sign_jwt(claims));
                r.timeout = std::chrono::seconds(30);
                return r;
            }
            case credential_kind::authorized_user: {
                http_request r;
                r.method = "POST";
                r.url = token_uri_;
                r.headers.push_back("Content-Type: application/x-www-form-urlencoded");
                r.body = "grant_type=refresh_token&client_id=" + url_encode(client_id_) +
                         "&client_secret=" + url_encode(client_secret_) + "&refresh_token=" + url_encode(refresh_token_);
                r.timeout = std::chrono::seconds(30);
                return r;
            }
            case credential_kind::metadata_server: {
                http_request r;
                r.url = "http://" + metadata_host_ + "/computeMetadata/v1/instance/service-accounts/default/token";
                r.headers.push_back("Metadata-Flavor: Google");
                r.plain_http_host = metadata_host_;
                r.timeout = std::chrono::seconds(10);
                return r;
            }
        }
        return std::nullopt;
    }

    /// Takes the token from the refresh response. Throws io.42 (never quoting the body, which holds the
    /// token) when it failed; `retryable` tells whether trying again later can help.
    void accept(const http_result& res, clock::time_point now, bool& retryable) {
        retryable = true;
        if (!res.ok) throw error(error_category::io, 42, "cannot get a token from " + what() + ": " + res.error);
        const auto& r = res.response;
        if (r.status != 200) {
            retryable = r.status == 429 || r.status >= 500 || r.status == 408;
            std::string code;
            try {
                const auto j = nlohmann::json::parse(r.body);
                if (j.is_object() && j.contains("error") && j["error"].is_string()) code = j["error"].get<std::string>();
            } catch (const std::exception&) {
            }
            throw error(error_category::io, 42,
                        "cannot get a token from " + what() + ": HTTP " + std::to_string(r.status) +
                            (code.empty() ? std::string() : " (" + code + ")") +
                            (code == "invalid_grant" ? "; the credentials were revoked or are wrong" : ""));
        }
        if (kind_ == credential_kind::metadata_server) {
            const auto* flavor = r.header("metadata-flavor");
            if (!flavor || *flavor != "Google")
                throw error(error_category::io, 42,
                            "the metadata server at " + metadata_host_ + " did not answer as one (no Metadata-Flavor)");
        }
        std::string token;
        long long expires_in = 3600;
        try {
            const auto j = nlohmann::json::parse(r.body);
            token = j.at("access_token").get<std::string>();
            if (j.contains("expires_in")) {  // read as a double: 1e20 or 3.5 must not overflow a cast
                const double e = j["expires_in"].get<double>();
                expires_in = e >= 86400.0 ? 86400 : e <= 0.0 ? 0 : static_cast<long long>(e);
            }
        } catch (const std::exception&) {
            throw error(error_category::io, 42, "the token response of " + what() + " is not a valid token");
        }
        if (token.empty()) throw error(error_category::io, 42, "the token response of " + what() + " is empty");
        token_ = std::move(token);
        expires_in = std::min(std::max(expires_in, 0LL), 86400LL);  // a huge or negative lifetime is not trusted
        expiry_ = now + std::chrono::seconds(expires_in);
        ++refreshes_;
    }

    /// A fresh token, refreshed through `http` (blocking) when needed.
    const std::string& blocking_token(http_client& http) {
        const auto now = clock::now();
        if (fresh(now)) return token_;
        auto req = refresh_request(now);
        if (req) {
            bool retryable = false;
            try {
                accept(http.perform(std::move(*req)), now, retryable);
            } catch (const error&) {
                if (usable(now)) return token_;
                throw;
            }
        }
        if (token_.empty()) throw error(error_category::io, 42, "no token available from " + what());
        return token_;
    }

    /// The project the metadata server reports (outside Vertex jobs; inside them it is a tenant project).
    std::string metadata_project(http_client& http) const {
        if (kind_ != credential_kind::metadata_server) return {};
        http_request r;
        r.url = "http://" + metadata_host_ + "/computeMetadata/v1/project/project-id";
        r.headers.push_back("Metadata-Flavor: Google");
        r.plain_http_host = metadata_host_;
        r.timeout = std::chrono::seconds(5);
        const auto res = http.perform(r);
        if (!res.ok || res.response.status != 200) return {};
        return res.response.body;
    }

private:
    std::string what() const { return std::string(to_string(kind_)) + " (" + source_ + ")"; }

    void load_file(const std::string& file) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw error(error_category::config, 43, "cannot read the credentials file " + file);
        std::stringstream ss;
        ss << in.rdbuf();
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(ss.str());
        } catch (const std::exception&) {
            // nlohmann's message quotes the text around the error: it could be a secret.
            throw error(error_category::config, 43, "the credentials file " + file + " is not valid JSON");
        }
        const std::string type = j.is_object() ? j.value("type", std::string()) : std::string();
        const std::string token_override = first_of({cfg_.token_endpoint, env_value("MLTRACK_TOKEN_ENDPOINT")});
        auto field = [&](const char* k) {
            if (!j.contains(k) || !j[k].is_string() || j[k].get<std::string>().empty())
                throw error(error_category::config, 43,
                            "the credentials file " + file + " (" + type + ") has no '" + k + "'");
            return j[k].get<std::string>();
        };
        if (type == "authorized_user") {
            kind_ = credential_kind::authorized_user;
            client_id_ = field("client_id");
            client_secret_ = field("client_secret");
            refresh_token_ = field("refresh_token");
            quota_project_ = j.value("quota_project_id", std::string());
            project_ = quota_project_;
            token_uri_ = first_of({token_override, j.value("token_uri", std::string()), default_token_uri});
            source_ = "user credentials from " + file;
        } else if (type == "service_account") {
            kind_ = credential_kind::service_account;
            client_email_ = field("client_email");
            private_key_ = field("private_key");
            private_key_id_ = j.value("private_key_id", std::string());
            project_ = j.value("project_id", std::string());
            token_uri_ = first_of({token_override, j.value("token_uri", std::string()), default_token_uri});
            source_ = "service account " + client_email_ + " from " + file;
            if (!have_rs256) rs256_sign(private_key_, "");  // throws config.44 with the explanation
        } else {
            throw error(error_category::config, 43,
                        "the credentials file " + file + " has type '" + type +
                            "'; supported: authorized_user, service_account");
        }
        check_url(token_uri_);
    }

    std::string sign_jwt(const nlohmann::json& claims) const {
        nlohmann::json header{{"alg", "RS256"}, {"typ", "JWT"}};
        if (!private_key_id_.empty()) header["kid"] = private_key_id_;
        const std::string input = base64url(header.dump()) + "." + base64url(claims.dump());
        return input + "." + base64url(rs256_sign(private_key_, input));
    }

    auth_config cfg_;
    credential_kind kind_ = credential_kind::static_token;
    std::string source_;
    std::string token_;
    clock::time_point expiry_{};
    std::uint64_t refreshes_ = 0;
    std::string project_, quota_project_;
    std::string token_uri_;
    std::string client_id_, client_secret_, refresh_token_;
    std::string client_email_, private_key_, private_key_id_;
    std::string metadata_host_;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
