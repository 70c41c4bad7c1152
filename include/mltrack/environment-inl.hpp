// Why: the bodies of the environment capture (git, host, compiler, command line, job), apart so that in compiled
// mode (detail/compiled.hpp) they are compiled once.
#pragma once

#include "environment.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

MLTRACK_INLINE bool read_small_file(const std::filesystem::path& p, std::string& out, std::size_t limit) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    out.clear();
    char buf[4096];
    while (out.size() < limit && in.read(buf, sizeof buf).gcount() > 0) out.append(buf, static_cast<std::size_t>(in.gcount()));
    return !in.bad();
}

MLTRACK_INLINE std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

MLTRACK_INLINE bool run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, std::string& out,
                        std::size_t limit) {
    out.clear();
    int fds[2];
    if (::pipe(fds) != 0) return false;
    ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        const auto n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out.size() < limit) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

MLTRACK_INLINE nlohmann::json git_info(const environment_options& o) {
    std::string dir = o.git_directory.string();
    if (dir.empty()) {
        std::error_code ec;
        dir = std::filesystem::current_path(ec).string();
        if (ec) return nullptr;
    }
    const auto head = read_git_head(dir);
    if (!head) return nullptr;
    nlohmann::json g = nlohmann::json::object();
    if (!head->commit.empty()) g["commit"] = head->commit;
    if (!head->branch.empty()) g["branch"] = head->branch;
    if (o.git_dirty) {
        const auto status = git_status(dir, o.git_timeout);
        if (status.is_object() && status.contains("dirty")) g["dirty"] = status["dirty"];
    }
    return g;
}

MLTRACK_INLINE nlohmann::json git_status(const std::string& dir, std::chrono::milliseconds timeout) {
    std::string text;
    if (!run_command({"git", "--no-optional-locks", "-C", dir, "status", "--porcelain=v2", "--branch",
                      "--untracked-files=no"},
                     timeout, text))
        return nullptr;
    nlohmann::json g = nlohmann::json::object();
    bool dirty = false;
    bool header = false;  // "# branch.oid" is always printed: without it this was not git's answer
    for_each_line(text, [&](std::string_view line) {
        if (line.rfind("# branch.oid ", 0) == 0) {
            header = true;
            const auto v = line.substr(13);
            if (v != "(initial)") g["commit"] = std::string(v);
        } else if (line.rfind("# branch.head ", 0) == 0) {
            const auto v = line.substr(14);
            if (v != "(detached)") g["branch"] = std::string(v);
        } else if (!line.empty() && line[0] != '#') {
            dirty = true;
        }
        return false;
    });
    if (!header) return nullptr;
    g["dirty"] = dirty;
    return g;
}

MLTRACK_INLINE std::string local_user_name(const std::filesystem::path& passwd_file, uid_t uid) {
    std::string text, name;
    if (!read_small_file(passwd_file, text, 4 << 20)) return name;
    const std::string id = std::to_string(static_cast<unsigned long long>(uid));
    for_each_line(text, [&](std::string_view line) {  // name:password:uid:gid:...
        const auto a = line.find(':');
        const auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
        const auto c = b == std::string_view::npos ? b : line.find(':', b + 1);
        if (c == std::string_view::npos || a == 0 || line.substr(b + 1, c - b - 1) != id) return false;
        name = std::string(line.substr(0, a));
        return true;
    });
    return name;
}

MLTRACK_INLINE void put_env(nlohmann::json& obj, const char* key, const char* variable) {
    const std::string v = env_value(variable);
    if (!v.empty()) obj[key] = v;
}

MLTRACK_INLINE std::string cpu_model(const std::filesystem::path& cpuinfo) {
    std::string text;
    if (!read_small_file(cpuinfo, text, 4 << 20)) return {};
    std::string model, fallback;
    for_each_line(text, [&](std::string_view line) {
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return false;
        const std::string key = trim(line.substr(0, colon));
        std::string value = trim(line.substr(colon + 1));
        if (value.empty()) return false;
        if (key == "model name") {
            model = std::move(value);
            return true;
        }
        if (fallback.empty() && (key == "Hardware" || key == "cpu model" || key == "cpu" || key == "uarch"))
            fallback = std::move(value);
        return false;
    });
    return model.empty() ? fallback : model;
}

MLTRACK_INLINE long usable_cpus() {
#if defined(__linux__)
    for (int n = CPU_SETSIZE; n <= (1 << 16); n *= 4) {
        cpu_set_t* set = CPU_ALLOC(static_cast<std::size_t>(n));
        if (!set) return 0;
        const auto size = CPU_ALLOC_SIZE(static_cast<std::size_t>(n));
        CPU_ZERO_S(size, set);
        const int rc = ::sched_getaffinity(0, size, set);
        const int err = errno;
        const long count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
        CPU_FREE(set);
        if (rc == 0) return count;
        if (err != EINVAL) return 0;
    }
#endif
    return 0;
}

MLTRACK_INLINE nlohmann::json compiler_info() {
    nlohmann::json c = nlohmann::json::object();
#if defined(__clang__)
    c["name"] = "clang";
    c["version"] = __clang_version__;
#elif defined(__GNUC__)
    c["name"] = "gcc";
    c["version"] = __VERSION__;
#elif defined(_MSC_VER)
    c["name"] = "msvc";
    c["version"] = _MSC_FULL_VER;
#endif
    c["cplusplus"] = static_cast<std::int64_t>(__cplusplus);
#if defined(__OPTIMIZE__)
    c["optimized"] = true;
#else
    c["optimized"] = false;
#endif
#if defined(NDEBUG)
    c["ndebug"] = true;
#else
    c["ndebug"] = false;
#endif
    return c;
}
}  // namespace detail

MLTRACK_INLINE nlohmann::json capture_environment(const environment_options& options) {
    using nlohmann::json;
    json env = json::object();
    try {
        detail::probe([&] {
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) == 0 && host[0]) env["host"] = std::string(host);
        });
        detail::probe([&] {
            const uid_t uid = ::geteuid();
            std::string name = detail::local_user_name(options.passwd_file, uid);
            if (name.empty()) {  // a directory user (LDAP, SSSD...): the name service knows it
                std::vector<char> buf(16384);
                passwd pw{};
                passwd* found = nullptr;
                if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name)
                    name = found->pw_name;
            }
            if (name.empty()) name = detail::env_value("USER");
            if (!name.empty()) env["user"] = name;
            env["uid"] = static_cast<std::int64_t>(uid);
        });
        env["pid"] = static_cast<std::int64_t>(::getpid());
        detail::probe([&] {
            std::string raw;
            if (!detail::read_small_file(options.proc_root / "self" / "cmdline", raw)) return;
            std::vector<std::string> args;
            std::size_t start = 0;
            while (start < raw.size()) {
                auto end = raw.find('\0', start);
                if (end == std::string::npos) end = raw.size();
                args.emplace_back(raw, start, end - start);
                start = end + 1;
            }
            json cl = json::array();
            for (auto& a : redact_command_line(args)) cl.push_back(std::move(a));
            env["command_line"] = std::move(cl);
        });
        detail::probe([&] {
            std::error_code ec;
            const auto cwd = std::filesystem::current_path(ec);
            if (!ec) env["working_directory"] = cwd.string();
        });
        if (options.git)
            detail::probe([&] {
                auto g = detail::git_info(options);
                if (g.is_object()) env["git"] = std::move(g);
            });
        env["compiler"] = detail::compiler_info();
        env["mltrack_version"] = version_string;
        detail::probe([&] {
            json cpu = json::object();
            const auto model = detail::cpu_model(options.proc_root / "cpuinfo");
            if (!model.empty()) cpu["model"] = model;
            const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
            if (online > 0) cpu["logical_cores"] = static_cast<std::int64_t>(online);
            const long usable = detail::usable_cpus();
            if (usable > 0) cpu["usable_cores"] = static_cast<std::int64_t>(usable);
            if (!cpu.empty()) env["cpu"] = std::move(cpu);
        });
        detail::probe([&] {
            utsname u{};
            if (::uname(&u) != 0) return;
            env["os"] = json{{"sysname", u.sysname}, {"release", u.release}, {"machine", u.machine}};
        });
        detail::probe([&] {
            json s = json::object();
            detail::put_env(s, "job_id", "SLURM_JOB_ID");
            detail::put_env(s, "array_job_id", "SLURM_ARRAY_JOB_ID");
            detail::put_env(s, "array_task_id", "SLURM_ARRAY_TASK_ID");
            detail::put_env(s, "procid", "SLURM_PROCID");
            detail::put_env(s, "ntasks", "SLURM_NTASKS");
            detail::put_env(s, "job_name", "SLURM_JOB_NAME");
            detail::put_env(s, "nodelist", "SLURM_JOB_NODELIST");
            if (!s.contains("nodelist")) detail::put_env(s, "nodelist", "SLURM_NODELIST");
            detail::put_env(s, "cluster", "SLURM_CLUSTER_NAME");
            if (!s.empty()) env["slurm"] = std::move(s);
        });
        detail::probe([&] {
            const rank_info r = detect_rank();  // the launcher's variables (ranks.hpp), without MPI
            if (r.source != "none")
                env["rank"] = json{{"rank", r.rank}, {"world_size", r.world_size}, {"source", r.source}};
        });
        detail::put_env(env, "cuda_visible_devices", "CUDA_VISIBLE_DEVICES");
        detail::put_env(env, "omp_num_threads", "OMP_NUM_THREADS");
        detail::probe([&] {
            const auto v = detail::read_vertex_job_environment();  // only ids and names: no credentials
            json j = json::object();
            if (!v.job_id.empty()) j["job_id"] = v.job_id;
            detail::put_env(j, "trial_id", "CLOUD_ML_TRIAL_ID");
            if (j.empty()) return;  // the rest is only meaningful inside a Vertex AI job
            if (!v.project.empty()) j["project"] = v.project;
            if (!v.location.empty()) j["location"] = v.location;
            if (!v.experiment.empty()) j["experiment"] = v.experiment;
            if (!v.run.empty()) j["experiment_run"] = v.run;
            if (!v.tensorboard.empty()) j["tensorboard"] = v.tensorboard;
            j["chief"] = v.chief;
            env["vertex"] = std::move(j);
        });
    } catch (...) {
    }
    return env;
}

MLTRACK_INLINE nlohmann::json environment_text_subset(const nlohmann::json& env) {
    using nlohmann::json;
    json out = json::object();
    if (!env.is_object()) return out;
    try {
        auto copy = [&](const char* key) {
            const auto it = env.find(key);
            if (it != env.end() && it->is_primitive()) out[key] = *it;
        };
        copy("host");
        copy("mltrack_version");
        const auto git = env.find("git");
        if (git != env.end() && git->is_object() && git->contains("commit")) out["git"]["commit"] = git->at("commit");
        const auto comp = env.find("compiler");
        if (comp != env.end() && comp->is_object()) out["compiler"] = *comp;
        const auto slurm = env.find("slurm");
        if (slurm != env.end() && slurm->is_object())
            for (const char* k : {"job_id", "array_job_id", "array_task_id", "procid"})
                if (slurm->contains(k)) out["slurm"][k] = slurm->at(k);
        const auto cpu = env.find("cpu");
        if (cpu != env.end() && cpu->is_object() && cpu->contains("model")) out["cpu"]["model"] = cpu->at("model");
    } catch (...) {
    }
    return out;
}

MLTRACK_NAMESPACE_END
