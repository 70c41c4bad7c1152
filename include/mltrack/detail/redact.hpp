// Why: the command line goes into every run's record, and people pass secrets on it in many shapes: options
// (`--token=x`, `--password x`, `-p x`), HTTP headers (`-H "Authorization: Bearer x"`, `--cookie=...`),
// credentials inside URLs (`https://user:pw@host`, `?access_token=x`, `&sig=x`, `X-Amz-Signature=x`) and
// connection strings (`Server=h;Password=x`). One rule covers them: a value is hidden when the name that
// introduces it looks secret, whatever the syntax around it (an option, a header, a query or connection-string
// pair), and so is every value after `Bearer`/`Basic` and a URL's user information. Over-redaction is
// accepted; a secret given as a bare positional argument cannot be recognized.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline std::string ascii_lower(std::string_view s) {
    std::string n;
    n.reserve(s.size());
    for (char c : s) n += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return n;
}

/// Whether a name (of an option, a KEY=VALUE pair, a header, a URL query or connection-string field) looks
/// like it names a secret: it contains one of the words below (any case), or one of its parts (split at
/// '-', '_', '.', ' ') is "key", "pass", "pwd", "pw", "sas" or "sig".
inline bool secret_name(std::string_view name) {
    const std::string n = ascii_lower(name);
    for (const char* word : {"token", "secret", "password", "passwd", "passphrase", "credential", "auth", "apikey",
                             "api-key", "api_key", "accesskey", "access-key", "access_key", "privatekey",
                             "private-key", "private_key", "accountkey", "account-key", "account_key", "masterkey",
                             "signingkey", "sessionkey", "bearer", "jwt", "cookie", "signature", "sessionid",
                             "session-id", "session_id"})
        if (n.find(word) != std::string::npos) return true;
    std::size_t start = 0;
    while (start <= n.size()) {
        auto end = n.find_first_of("-_. ", start);
        if (end == std::string::npos) end = n.size();
        const auto part = std::string_view(n).substr(start, end - start);
        if (part == "key" || part == "pass" || part == "pwd" || part == "pw" || part == "sas" || part == "sig")
            return true;
        start = end + 1;
    }
    return false;
}

/// The user information of URLs: "https://user:pw@host/x" -> "https://***@host/x", also when the password
/// holds a '/' (then the '@' comes after it: "https://u:a/b@host" -> "https://***@host"). "host:8080/p@x"
/// (a port, then an '@' in the path) and "https://registry/@scope/pkg" are left alone.
inline std::string redact_url_userinfo(const std::string& arg) {
    std::string out;
    std::size_t from = 0;
    for (;;) {
        const auto scheme = arg.find("://", from);
        if (scheme == std::string::npos) break;
        const auto host_start = scheme + 3;
        const auto stop = arg.find_first_of("?# \"'", host_start);  // the user information ends before these
        const auto at = arg.find('@', host_start);
        bool userinfo = false;
        if (at != std::string::npos && (stop == std::string::npos || at < stop)) {
            const std::string_view pre(arg.data() + host_start, at - host_start);
            const auto slash = pre.find('/');
            if (slash == std::string_view::npos) {
                userinfo = true;  // "user@host", "user:pw@host", "TOKEN@host"
            } else if (const auto colon = pre.find(':'); colon != std::string_view::npos && colon < slash) {
                // "user:pa/ss@host" unless the part after ':' is a port ("host:8080/path@x")
                userinfo = pre.find_first_not_of("0123456789", colon + 1) != slash;
            }
        }
        if (userinfo) {
            out.append(arg, from, host_start - from);
            out += "***";
            from = at;
        } else {
            out.append(arg, from, host_start - from);
            from = host_start;
        }
    }
    out.append(arg, from, std::string::npos);
    return out;
}

/// Where the credentials after "Bearer " or "Basic " (any case) at `i` start; `i` when there is none.
inline std::size_t after_auth_scheme(const std::string& arg, std::size_t i) {
    for (std::string_view scheme : {std::string_view("bearer "), std::string_view("basic ")})
        if (arg.size() - i > scheme.size() && ascii_lower(std::string_view(arg).substr(i, scheme.size())) == scheme)
            return i + scheme.size();
    return i;
}

/// Inside one argument: the value of every `name=value` pair whose name looks secret (URL queries
/// `?access_token=x&sig=y`, connection strings `Server=h;Password=x;`, `a=1,password=x`), up to the next
/// '&', ';', ',', '#', space or quote; the value of a header whose name looks secret (`Authorization: ...`,
/// `Cookie: ...`, `X-Api-Key: ...`), to the end; and the word after `Bearer ` or `Basic `.
inline std::string redact_pairs(const std::string& arg) {
    static constexpr std::string_view separators = "&;,# \t\"'";
    auto is_name_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ' ';
    };
    std::string out;
    std::size_t i = 0;
    while (i < arg.size()) {
        // A field starts at the beginning or after a separator, '?' or '='.
        const bool field_start = i == 0 || separators.find(arg[i - 1]) != std::string_view::npos ||
                                 arg[i - 1] == '?' || arg[i - 1] == '=';
        if (field_start) {
            std::size_t j = i;
            while (j < arg.size() && is_name_char(arg[j]) && (arg[j] != ' ' || j > i)) ++j;
            std::string_view name(arg.data() + i, j - i);
            while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
            if (!name.empty() && j < arg.size() && secret_name(name)) {
                if (arg[j] == '=') {  // a pair: hide its value
                    out.append(arg, i, j + 1 - i);
                    out += "***";
                    std::size_t k = j + 1;
                    while (k < arg.size() && separators.find(arg[k]) == std::string_view::npos) ++k;
                    i = k;
                    continue;
                }
                if (arg[j] == ':' && (j + 1 == arg.size() || arg[j + 1] == ' ')) {  // a header: hide the rest
                    out.append(arg, i, j + 1 - i);
                    out += " ***";
                    return out;
                }
            }
            // "Bearer x" / "Basic x" anywhere (a header given without its name).
            if (const auto k = after_auth_scheme(arg, i); k != i) {
                out.append(arg, i, k - i);
                out += "***";
                i = k;
                while (i < arg.size() && arg[i] != ' ' && arg[i] != '"' && arg[i] != '\'') ++i;
                continue;
            }
        }
        out += arg[i++];
    }
    return out;
}

/// Options whose value is hidden whatever their name's words: `-p` (a password in mysql, psql's client
/// tools and others; a port elsewhere, which is the accepted over-redaction) and `-H` / `--header`.
inline bool hides_value(std::string_view option) {
    return option == "-p" || option == "-H" || option == "--header" || option == "-header";
}

}  // namespace detail

/// The command line with the values of secret-looking arguments replaced by "***" (the rule is
/// detail::secret_name's):
/// - `--token=x`, `-password=x`, `API_KEY=x`: the part after the first '=' is replaced;
/// - `--password x`, `--api-key x`, `-p x`, `-H x`, `--header x`: the next argument is replaced, whatever it is;
/// - inside any argument: `name=value` pairs with a secret-looking name (URL queries, connection strings),
///   headers with a secret-looking name (`Authorization: ...`), the word after `Bearer`/`Basic`, and the
///   user information of URLs (`https://user:pw@host`).
inline std::vector<std::string> redact_command_line(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    out.reserve(args.size());
    bool hide_next = false;
    for (const auto& arg : args) {
        if (hide_next) {  // the value of "--password x"; always hidden, even when it looks like an option
            hide_next = false;
            out.emplace_back("***");
            continue;
        }
        const auto eq = arg.find('=');
        std::string_view option(arg);
        option = option.substr(0, eq);
        std::string_view name = option;
        while (!name.empty() && name.front() == '-') name.remove_prefix(1);
        const bool is_option = arg.size() > 1 && arg[0] == '-';
        const bool plain_name =  // KEY=VALUE, --key=value; not "https://h/x?key=v" (that is redact_pairs')
            !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
                                 std::string_view::npos;
        if (eq != std::string::npos && plain_name) {
            if (detail::secret_name(name) || (is_option && detail::hides_value(option))) {
                out.push_back(arg.substr(0, eq + 1) + "***");
                continue;
            }
        } else if (eq == std::string::npos && is_option && (detail::secret_name(name) || detail::hides_value(option))) {
            hide_next = true;
        }
        out.push_back(detail::redact_url_userinfo(detail::redact_pairs(arg)));
    }
    return out;
}

MLTRACK_NAMESPACE_END
