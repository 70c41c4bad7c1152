// Why: the Vertex AI sink talks HTTPS, and only it needs libcurl. This is the smallest wrapper that makes
// that safe and cheap: one easy handle reused for every request (keep-alive, TLS sessions and DNS cached),
// HTTP/2 over TLS where curl has it, TLS verification always on, redirects never followed (they would
// carry the Authorization header elsewhere), proxies taken from the usual variables by curl itself, and
// plain http refused except to loopback addresses (tests, local emulators) or a host the caller names
// (the GCE metadata server, which is plain http by design). Transfers can be blocking (perform) or
// driven from a loop without ever blocking it (start + poll, through a curl multi handle), which is how
// the sink keeps its writer thread responsive. Failures come back as values with a clear message that
// never contains a header value (so never a token) nor a query string.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "../../error.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// One HTTP request. Header lines are "Name: value".
struct http_request {
    std::string method = "GET";  ///< GET, POST, PATCH, PUT, DELETE
    std::string url;
    std::vector<std::string> headers;
    std::string body;                  ///< sent for POST/PATCH/PUT (an empty POST sends Content-Length: 0)
    std::filesystem::path body_file;   ///< when set, the body is streamed from this file instead
    std::chrono::milliseconds timeout{0};  ///< whole-request limit; 0: the client's default
    std::string plain_http_host;       ///< a host allowed over plain http besides loopback (metadata server)
    bool fresh_connection = false;     ///< for requests that must not be replayed: libcurl silently sends a
                                       ///< request again when a reused connection dies before any answer byte;
                                       ///< on a new connection it never does (the caller decides what to retry)
};

/// A response: any status (4xx and 5xx included). Header names are lowercased.
struct http_response {
    long status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The value of the first header with this (lowercase) name, or nullptr.
    const std::string* header(std::string_view lower_name) const {
        for (const auto& h : headers)
            if (h.first == lower_name) return &h.second;
        return nullptr;
    }

    std::string etag() const {
        const auto* h = header("etag");
        return h ? *h : std::string();
    }

    /// Retry-After as a delay: delta-seconds or an HTTP-date (RFC 9110); nullopt when absent or unreadable.
    std::optional<std::chrono::milliseconds> retry_after() const {
        const auto* h = header("retry-after");
        if (!h || h->empty()) return std::nullopt;
        const std::string& v = *h;
        if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            const auto s = std::strtoll(v.c_str(), nullptr, 10);
            return std::chrono::milliseconds(std::min<long long>(s, 86400) * 1000);
        }
        std::tm tm{};
        char wd[4] = {}, mon[4] = {};
        int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
        if (std::sscanf(v.c_str(), "%3s, %d %3s %d %d:%d:%d GMT", wd, &day, mon, &year, &hh, &mm, &ss) != 7)
            return std::nullopt;
        static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        int m = -1;
        for (int i = 0; i < 12; ++i)
            if (std::string_view(mon) == months[i]) m = i;
        if (m < 0 || year < 1970 || year > 9999 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
            ss < 0 || ss > 60)
            return std::nullopt;
        tm.tm_year = year - 1900;
        tm.tm_mon = m;
        tm.tm_mday = day;
        tm.tm_hour = hh;
        tm.tm_min = mm;
        tm.tm_sec = ss;
        const std::time_t at = ::timegm(&tm);
        const std::time_t now = std::time(nullptr);
        const long long delta = at > now ? static_cast<long long>(at - now) : 0;
        return std::chrono::milliseconds(std::min<long long>(delta, 86400) * 1000);
    }
};

/// The outcome of a transfer: a response, or a transport failure (no response at all).
struct http_result {
    bool ok = false;          ///< a response arrived (whatever its status)
    http_response response;   ///< when ok
    int curl_code = 0;        ///< CURLcode of a transport failure
    bool retryable = false;   ///< transport failures only: worth retrying (reset, refused, timeout...)
    std::string error;        ///< transport failures only: "POST https://host/path: connection refused (...)"
};

struct http_options {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds timeout{60000};  ///< whole request, unless the request says otherwise
    std::string user_agent = std::string("mltrack/") + MLTRACK_VERSION_STRING;
    std::string ca_file;                       ///< extra CA bundle (private endpoints); empty: the system's
    std::string client_cert;                   ///< PEM client certificate (with its key) for mutual TLS; empty: none
    bool verify_tls = true;                    ///< false only when a user opted out explicitly (the MLflow sink's
                                               ///< MLFLOW_TRACKING_INSECURE_TLS=true); never the default
    std::size_t max_response_bytes = 256u << 20;
};

/// The scheme and host of a URL ("" when it does not parse), lowercased.
inline std::pair<std::string, std::string> url_scheme_host(std::string_view url) {
    std::pair<std::string, std::string> out;
    CURLU* u = curl_url();
    if (!u) return out;
    const std::string s(url);
    if (curl_url_set(u, CURLUPART_URL, s.c_str(), 0) == CURLUE_OK) {
        char* scheme = nullptr;
        char* host = nullptr;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && scheme) out.first = scheme;
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) out.second = host;
        curl_free(scheme);
        curl_free(host);
    }
    curl_url_cleanup(u);
    for (auto& c : out.first) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : out.second) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// True for localhost, 127.0.0.0/8 and ::1 (with or without brackets).
inline bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1" || host == "[::1]") return true;
    if (host.substr(0, 4) != "127.") return false;
    int dots = 0;
    for (char c : host) {
        if (c == '.') ++dots;
        else if (c < '0' || c > '9') return false;
    }
    return dots == 3;
}

/// The URL without its query string and fragment, for messages.
inline std::string url_for_message(std::string_view url) {
    const auto q = url.find_first_of("?#");
    return std::string(url.substr(0, q));
}

/// Throws mltrack::error config.40/41 unless the URL is https, or http to loopback (or to `plain_http_host`).
inline void check_url(std::string_view url, std::string_view plain_http_host = {}) {
    const auto sh = url_scheme_host(url);
    if (sh.first.empty() || sh.second.empty())
        throw error(error_category::config, 41, "not a valid URL: '" + url_for_message(url) + "'");
    if (sh.first == "https") return;
    if (sh.first == "http") {
        if (is_loopback_host(sh.second)) return;
        if (!plain_http_host.empty()) {
            std::string allowed(plain_http_host);
            const auto colon = allowed.rfind(':');
            if (colon != std::string::npos && allowed.find(']') == std::string::npos) allowed.resize(colon);
            for (auto& c : allowed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (allowed == sh.second) return;
        }
        throw error(error_category::config, 40,
                    "refusing plain http to '" + sh.second + "': use https (plain http is only allowed to loopback "
                    "addresses): " + url_for_message(url));
    }
    throw error(error_category::config, 41,
                "unsupported URL scheme '" + sh.first + "' (https only): " + url_for_message(url));
}

/// libcurl's global state, initialized once per process (thread-safe through the function-local static).
inline void curl_global() {
    struct global {
        global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    };
    static global g;
    (void)g;
}

/// Whether a CURLcode is a transient network condition worth retrying.
inline bool curl_retryable(CURLcode c) noexcept {
    switch (c) {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
            return true;
        default:
            return false;
    }
}

/// A short, token-free explanation of a CURLcode.
inline const char* curl_explain(CURLcode c) noexcept {
    switch (c) {
        case CURLE_COULDNT_RESOLVE_HOST: return "cannot resolve the host name";
        case CURLE_COULDNT_RESOLVE_PROXY: return "cannot resolve the proxy host name";
        case CURLE_COULDNT_CONNECT: return "cannot connect (refused or unreachable)";
        case CURLE_OPERATION_TIMEDOUT: return "timed out";
        case CURLE_SEND_ERROR: return "connection reset while sending";
        case CURLE_RECV_ERROR: return "connection reset while receiving";
        case CURLE_GOT_NOTHING: return "the server closed the connection without a response";
        case CURLE_PARTIAL_FILE: return "the response was cut short";
        case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate verification failed (not retried)";
        case CURLE_SSL_CACERT_BADFILE: return "cannot read the CA bundle";
        case CURLE_SSL_CONNECT_ERROR: return "TLS handshake failed";
        case CURLE_UNSUPPORTED_PROTOCOL: return "unsupported protocol";
        case CURLE_URL_MALFORMAT: return "malformed URL";
        case CURLE_WRITE_ERROR: return "the response is larger than the limit";
        case CURLE_READ_ERROR: return "cannot read the file to upload";
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM: return "HTTP/2 stream error";
        default: return "transfer failed";
    }
}

/// One reusable connection to HTTP servers. Not thread-safe: one owner thread (the writer).
class http_client {
public:
    explicit http_client(http_options options = {}) : options_(std::move(options)) {
        curl_global();
        easy_ = curl_easy_init();
        if (!easy_) throw error(error_category::io, 40, "cannot initialize libcurl");
    }
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;
    http_client(http_client&& o) noexcept { take(o); }
    http_client& operator=(http_client&& o) noexcept {
        if (this != &o) {
            cleanup();
            take(o);
        }
        return *this;
    }
    ~http_client() { cleanup(); }

    const http_options& options() const noexcept { return options_; }

    /// Blocking transfer. Throws only for a URL that check_url() refuses; everything else is a result.
    http_result perform(http_request request) {
        if (active_) throw error(error_category::state, 40, "an asynchronous transfer is in progress");
        prepare(std::move(request));
        const CURLcode rc = curl_easy_perform(easy_);
        return finish(rc);
    }

    /// Starts a transfer driven by poll(). Throws like perform(); one transfer at a time.
    void start(http_request request) {
        if (active_) throw error(error_category::state, 40, "an asynchronous transfer is in progress");
        prepare(std::move(request));
        if (!multi_) {
            multi_ = curl_multi_init();
            if (!multi_) throw error(error_category::io, 40, "cannot initialize libcurl (multi)");
        }
        curl_multi_add_handle(multi_, easy_);
        active_ = true;
    }

    bool busy() const noexcept { return active_; }

    /// Advances the transfer without blocking; the result once it is complete.
    std::optional<http_result> poll() {
        if (!active_) return std::nullopt;
        int running = 0;
        curl_multi_perform(multi_, &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == easy_) {
                const CURLcode rc = m->data.result;
                curl_multi_remove_handle(multi_, easy_);
                active_ = false;
                return finish(rc);
            }
        }
        return std::nullopt;
    }

    /// Waits up to `max` for socket activity of the transfer in flight (for loops that have nothing else to do).
    void wait(std::chrono::milliseconds max) {
        if (!active_) return;
        int n = 0;
        curl_multi_wait(multi_, nullptr, 0, static_cast<int>(max.count()), &n);
    }

    /// Abandons the transfer in flight (close() with a deadline).
    void cancel() noexcept {
        if (!active_) return;
        curl_multi_remove_handle(multi_, easy_);
        active_ = false;
        close_file();
    }

    /// Transfers done and connections curl opened, over the client's life (keep-alive shows as few connects).
    std::uint64_t transfers() const noexcept { return transfers_; }
    std::uint64_t connects() const noexcept { return connects_; }

private:
    void take(http_client& o) noexcept {
        options_ = std::move(o.options_);
        easy_ = o.easy_;
        multi_ = o.multi_;
        o.easy_ = nullptr;
        o.multi_ = nullptr;
        active_ = o.active_;
        o.active_ = false;
        transfers_ = o.transfers_;
        connects_ = o.connects_;
        // The request and callbacks point into *this; only an idle client is moved in practice.
    }

    void cleanup() noexcept {
        if (multi_ && easy_ && active_) curl_multi_remove_handle(multi_, easy_);
        active_ = false;
        if (easy_) curl_easy_cleanup(easy_);
        if (multi_) curl_multi_cleanup(multi_);
        easy_ = nullptr;
        multi_ = nullptr;
        if (slist_) curl_slist_free_all(slist_);
        slist_ = nullptr;
        close_file();
    }

    void close_file() noexcept {
        if (file_) std::fclose(file_);
        file_ = nullptr;
    }

    static std::size_t on_body(char* p, std::size_t size, std::size_t n, void* self) {
        auto* c = static_cast<http_client*>(self);
        const std::size_t bytes = size * n;
        if (c->response_.body.size() + bytes > c->options_.max_response_bytes) return 0;  // CURLE_WRITE_ERROR
        c->response_.body.append(p, bytes);
        return bytes;
    }

    static std::size_t on_header(char* p, std::size_t size, std::size_t n, void* self) {
        auto* c = static_cast<http_client*>(self);
        const std::size_t bytes = size * n;
        std::string_view line(p, bytes);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
        if (line.substr(0, 5) == "HTTP/") {
            c->response_.headers.clear();  // a new response (after 100-continue or a proxy CONNECT)
            return bytes;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return bytes;
        std::string name(line.substr(0, colon));
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        c->response_.headers.emplace_back(std::move(name), std::string(value));
        return bytes;
    }

    static std::size_t on_read(char* p, std::size_t size, std::size_t n, void* self) {
        auto* c = static_cast<http_client*>(self);
        if (!c->file_) return CURL_READFUNC_ABORT;
        const std::size_t got = std::fread(p, 1, size * n, c->file_);
        if (got == 0 && std::ferror(c->file_)) return CURL_READFUNC_ABORT;
        return got;
    }

    void prepare(http_request request) {
        const auto sh = url_scheme_host(request.url);
        check_url(request.url, request.plain_http_host);
        request_ = std::move(request);
        response_ = http_response{};
        errbuf_[0] = '\0';
        close_file();
        if (slist_) curl_slist_free_all(slist_);
        slist_ = nullptr;

        curl_easy_reset(easy_);  // options only: connections, TLS sessions and the DNS cache stay
        curl_easy_setopt(easy_, CURLOPT_URL, request_.url.c_str());
        curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(easy_, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
        curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
        if (!options_.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, options_.ca_file.c_str());
        if (!options_.client_cert.empty()) curl_easy_setopt(easy_, CURLOPT_SSLCERT, options_.client_cert.c_str());
        curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
        curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
        const auto timeout = request_.timeout.count() > 0 ? request_.timeout : options_.timeout;
        curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
        curl_easy_setopt(easy_, CURLOPT_USERAGENT, options_.user_agent.c_str());
        curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode (gzip...)
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &http_client::on_body);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &http_client::on_header);
        curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
        // Loopback traffic never goes through a proxy; everything else follows http(s)_proxy / no_proxy.
        if (is_loopback_host(sh.second)) curl_easy_setopt(easy_, CURLOPT_NOPROXY, "*");
        if (request_.fresh_connection) curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);

        for (const auto& h : request_.headers) slist_ = curl_slist_append(slist_, h.c_str());
        slist_ = curl_slist_append(slist_, "Expect:");  // no 100-continue round trip for large bodies

        const std::string& m = request_.method;
        if (m == "GET") {
            curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
        } else if (m == "POST" || m == "PATCH" || m == "PUT") {
            curl_easy_setopt(easy_, CURLOPT_POST, 1L);
            if (!request_.body_file.empty()) {
                std::error_code ec;
                const auto size = std::filesystem::file_size(request_.body_file, ec);
                file_ = ec ? nullptr : std::fopen(request_.body_file.c_str(), "rb");
                if (!file_)
                    throw error(error_category::io, 45,
                                "cannot open " + request_.body_file.string() + " to upload it");
                curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &http_client::on_read);
                curl_easy_setopt(easy_, CURLOPT_READDATA, this);
                curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
                // A large upload may take long: only abort when it stalls (under 1 byte/s for a minute).
                if (request_.timeout.count() == 0) {
                    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 0L);
                    curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1L);
                    curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_TIME, 60L);
                }
            } else {
                curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_.body.data());
                curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size()));
            }
            if (m != "POST") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str());
        } else if (m == "DELETE") {
            curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
            throw error(error_category::config, 41, "unsupported HTTP method '" + m + "'");
        }
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, slist_);
    }

    http_result finish(CURLcode rc) {
        close_file();
        ++transfers_;
        long connects = 0;
        if (curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) connects_ += connects;
        http_result r;
        if (rc == CURLE_OK) {
            r.ok = true;
            curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &response_.status);
            r.response = std::move(response_);
        } else {
            r.curl_code = static_cast<int>(rc);
            r.retryable = curl_retryable(rc);
            r.error = request_.method + " " + url_for_message(request_.url) + ": " + curl_explain(rc) + " (curl " +
                      std::to_string(static_cast<int>(rc)) + (errbuf_[0] ? std::string(": ") + errbuf_ : "") + ")";
        }
        response_ = http_response{};
        request_.body.clear();
        request_.body.shrink_to_fit();
        return r;
    }

    http_options options_;
    CURL* easy_ = nullptr;
    CURLM* multi_ = nullptr;
    bool active_ = false;
    curl_slist* slist_ = nullptr;
    std::FILE* file_ = nullptr;
    http_request request_;
    http_response response_;
    char errbuf_[CURL_ERROR_SIZE + 1] = {};
    std::uint64_t transfers_ = 0;
    std::uint64_t connects_ = 0;
};

/// Percent-encodes a query parameter value or a path segment (RFC 3986 unreserved characters stay).
inline std::string url_encode(std::string_view s, bool keep_slash = false) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3 / 2);
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        if (unreserved) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
