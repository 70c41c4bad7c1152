// environment.hpp: capture_environment (host, user, pid, command line, git, compiler, CPU, OS, SLURM, Vertex)
// checked against independent sources (libc calls, coreutils, git itself), and redaction of secrets.
#include <mltrack/environment.hpp>
#include <mltrack/mltrack.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// The standard output of a shell command, without the trailing newline.
std::string shell(const std::string& cmd) {
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
    REQUIRE(p);
    std::string out;
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

/// Sets (or unsets, with nullopt) an environment variable for the scope of the object.
class scoped_env {
public:
    scoped_env(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        if (value)
            ::setenv(name_.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
    ~scoped_env() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

/// A git repository with one commit of `file.txt`, made with the git command.
void make_repo(const fs::path& dir) {
    const std::string git = "git -C " + quoted(dir) + " ";
    REQUIRE(std::system((git + "init -q -b main >/dev/null 2>&1 || " + git + "init -q").c_str()) == 0);
    unit::write_file(dir / "file.txt", "one\n");
    REQUIRE(std::system((git + "add file.txt && " + git +
                         "-c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q -m first")
                            .c_str()) == 0);
}

}  // namespace

TEST_CASE("the process fields match libc and coreutils") {
    const json env = capture_environment();
    INFO(env.dump(2));
    char host[256] = {};
    REQUIRE(::gethostname(host, sizeof host - 1) == 0);
    CHECK(env.at("host") == std::string(host));
    CHECK(env.at("pid") == static_cast<std::int64_t>(::getpid()));
    char cwd[PATH_MAX];
    REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
    CHECK(env.at("working_directory") == std::string(cwd));
    CHECK(env.at("user") == shell("id -un"));
    CHECK(env.at("uid") == std::stoll(shell("id -u")));
    CHECK(env.at("mltrack_version") == std::string(MLTRACK_VERSION_STRING));
    CHECK(env.at("os").at("sysname") == shell("uname -s"));
    CHECK(env.at("os").at("release") == shell("uname -r"));
    CHECK(env.at("os").at("machine") == shell("uname -m"));
    CHECK(env.at("cpu").at("usable_cores") == std::stoll(shell("nproc")));
    CHECK(env.at("cpu").at("logical_cores") == std::stoll(shell("getconf _NPROCESSORS_ONLN")));
    const std::string model = shell("sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1");
    if (!model.empty()) CHECK(env.at("cpu").at("model") == model);

    // The command line is this test program's: the same words /proc reports, read here with the shell.
    const auto& cl = env.at("command_line");
    REQUIRE(cl.is_array());
    REQUIRE(!cl.empty());
    CHECK(cl.size() == std::stoul(shell("tr '\\0' '\\n' < /proc/" + std::to_string(::getpid()) + "/cmdline | wc -l")));
    CHECK(fs::path(cl.at(0).get<std::string>()).filename().string().find("test_environment") == 0);

    const auto& c = env.at("compiler");
    CHECK(c.at("cplusplus") == static_cast<std::int64_t>(__cplusplus));
    CHECK(c.at("version").get<std::string>().size() > 0);
#if defined(__clang__)
    CHECK(c.at("name") == "clang");
#else
    CHECK(c.at("name") == "gcc");
#endif
#if defined(__OPTIMIZE__)
    CHECK(c.at("optimized") == true);
#else
    CHECK(c.at("optimized") == false);
#endif
#if defined(NDEBUG)
    CHECK(c.at("ndebug") == true);
#else
    CHECK(c.at("ndebug") == false);
#endif
}

TEST_CASE("git: commit and branch read from the repository's files, without running git") {
    unit::temp_dir dir;
    make_repo(dir.path());
    environment_options o;
    o.git_directory = dir.path();
    const std::string git = "git -C " + quoted(dir.path()) + " ";
    // No git on PATH: the files are enough.
    const std::string commit = shell(git + "rev-parse HEAD"), branch = shell(git + "rev-parse --abbrev-ref HEAD");
    fs::create_directories(dir / "empty-bin");
    {
        scoped_env path("PATH", (dir / "empty-bin").string());
        const json env = capture_environment(o);
        INFO(env.dump(2));
        REQUIRE(env.contains("git"));
        CHECK(env["git"].at("commit") == commit);
        CHECK(commit.size() >= 40);
        CHECK(env["git"].at("branch") == branch);
        CHECK(!env["git"].contains("dirty"));  // that needs git: git_dirty
    }
    SUBCASE("from a subfolder") {
        fs::create_directories(dir / "a" / "b");
        o.git_directory = dir / "a" / "b";
        CHECK(capture_environment(o).at("git").at("commit") == shell(git + "rev-parse HEAD"));
    }
    SUBCASE("packed refs (after git gc or a clone)") {
        REQUIRE(std::system((git + "pack-refs --all").c_str()) == 0);
        REQUIRE(!fs::exists(dir / ".git" / "refs" / "heads" / shell(git + "rev-parse --abbrev-ref HEAD")));
        CHECK(capture_environment(o).at("git").at("commit") == shell(git + "rev-parse HEAD"));
    }
    SUBCASE("a detached HEAD has a commit and no branch") {
        REQUIRE(std::system((git + "checkout -q --detach HEAD 2>/dev/null").c_str()) == 0);
        const json env = capture_environment(o);
        CHECK(env.at("git").at("commit") == shell(git + "rev-parse HEAD"));
        CHECK(!env.at("git").contains("branch"));
    }
    SUBCASE("a worktree: a .git file, refs in the main repository") {
        REQUIRE(std::system((git + "worktree add -q -b side " + quoted(dir / "wt") + " 2>/dev/null").c_str()) == 0);
        REQUIRE(fs::is_regular_file(dir / "wt" / ".git"));
        o.git_directory = dir / "wt";
        const json env = capture_environment(o);
        CHECK(env.at("git").at("branch") == "side");
        CHECK(env.at("git").at("commit") == shell(git + "rev-parse side"));
    }
    SUBCASE("git = false leaves git out") {
        o.git = false;
        CHECK(!capture_environment(o).contains("git"));
    }
}

TEST_CASE("git_dirty: a modified tracked file makes it dirty (untracked ones do not)") {
    unit::temp_dir dir;
    make_repo(dir.path());
    environment_options o;
    o.git_directory = dir.path();
    o.git_dirty = true;
    const std::string git = "git -C " + quoted(dir.path()) + " ";
    json env = capture_environment(o);
    INFO(env.dump(2));
    REQUIRE(env.contains("git"));
    CHECK(env["git"].at("dirty") == false);
    unit::write_file(dir / "untracked.txt", "x\n");
    CHECK(capture_environment(o).at("git").at("dirty") == false);
    unit::write_file(dir / "file.txt", "two\n");
    env = capture_environment(o);
    CHECK(env.at("git").at("dirty") == true);
    CHECK(env["git"].at("commit") == shell(git + "rev-parse HEAD"));
    CHECK(!fs::exists(dir / ".git" / "index.lock"));
}

TEST_CASE("git: a repository without commits has a branch and no commit") {
    unit::temp_dir dir;
    REQUIRE(std::system(("git -C " + quoted(dir.path()) + " init -q").c_str()) == 0);
    environment_options o;
    o.git_directory = dir.path();
    const json env = capture_environment(o);
    INFO(env.dump(2));
    REQUIRE(env.contains("git"));
    CHECK(!env["git"].contains("commit"));
    CHECK(env["git"].contains("branch"));
}

TEST_CASE("git: not a repository leaves git out; a missing, hanging or failing git leaves dirty out") {
    unit::temp_dir dir;
    environment_options o;
    o.git_directory = dir / "plain";
    fs::create_directories(o.git_directory);
    o.git_dirty = true;

    SUBCASE("not a repository") {
        scoped_env ceiling("GIT_CEILING_DIRECTORIES", dir.path().string());  // never find a repo above
        const json env = capture_environment(o);
        CHECK(!env.contains("git"));
        CHECK(env.contains("host"));
    }
    SUBCASE("a damaged HEAD") {
        make_repo(dir.path());
        o.git_directory = dir.path();
        unit::write_file(dir / ".git" / "HEAD", "garbage\n");
        CHECK(!capture_environment(o).contains("git"));
    }
    auto with_fake_git = [&](const std::string& script) {
        make_repo(dir.path());
        o.git_directory = dir.path();
        fs::create_directories(dir / "bin");
        unit::write_file(dir / "bin" / "git", script);
        fs::permissions(dir / "bin" / "git", fs::perms::owner_all);
        const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
        scoped_env path("PATH", (dir / "bin").string() + ":" + old_path);
        return capture_environment(o);
    };
    SUBCASE("no git on PATH") {
        make_repo(dir.path());
        o.git_directory = dir.path();
        fs::create_directories(dir / "empty-bin");
        scoped_env path("PATH", (dir / "empty-bin").string());
        const json env = capture_environment(o);
        CHECK(env.at("git").contains("commit"));
        CHECK(!env.at("git").contains("dirty"));
    }
    SUBCASE("a git that never answers is killed after the timeout") {
        o.git_timeout = std::chrono::milliseconds(100);
        const json env = with_fake_git("#!/bin/sh\nexec sleep 30\n");
        CHECK(env.at("git").contains("commit"));
        CHECK(!env.at("git").contains("dirty"));
    }
    SUBCASE("a git that answers nothing is ignored") {
        CHECK(!with_fake_git("#!/bin/sh\nexit 0\n").at("git").contains("dirty"));
    }
    SUBCASE("a git that fails is ignored") {
        CHECK(!with_fake_git("#!/bin/sh\necho '# branch.oid 0123'\nexit 1\n").at("git").contains("dirty"));
    }
}

TEST_CASE("SLURM, CUDA, OpenMP and Vertex AI variables") {
    SUBCASE("set") {
        scoped_env a("SLURM_JOB_ID", "4242"), b("SLURM_ARRAY_JOB_ID", "4200"), c("SLURM_ARRAY_TASK_ID", "7"),
            d("SLURM_PROCID", "3"), e("SLURM_NTASKS", "64"), f("SLURM_JOB_NAME", "train-resnet"),
            g("SLURM_JOB_NODELIST", "node[01-16]"), h("SLURM_CLUSTER_NAME", "hpc1"), i("CUDA_VISIBLE_DEVICES", "0,2"),
            j("OMP_NUM_THREADS", "8"), k("CLOUD_ML_JOB_ID", "9876543210"), l("CLOUD_ML_TRIAL_ID", "5"),
            m("AIP_EXPERIMENT_NAME", "projects/p/locations/l/metadataStores/default/contexts/exp-1"),
            n("GOOGLE_CLOUD_PROJECT", "my-project"), o("CLOUD_ML_REGION", "europe-west4"),
            p("GOOGLE_CLOUD_REGION", std::nullopt);
        environment_options opt;
        opt.git = false;
        const json env = capture_environment(opt);
        INFO(env.dump(2));
        CHECK(env.at("slurm") == json{{"job_id", "4242"},      {"array_job_id", "4200"}, {"array_task_id", "7"},
                                      {"procid", "3"},         {"ntasks", "64"},         {"job_name", "train-resnet"},
                                      {"nodelist", "node[01-16]"}, {"cluster", "hpc1"}});
        CHECK(env.at("cuda_visible_devices") == "0,2");
        CHECK(env.at("omp_num_threads") == "8");
        CHECK(env.at("vertex").at("job_id") == "9876543210");
        CHECK(env.at("vertex").at("trial_id") == "5");
        CHECK(env.at("vertex").at("experiment") == "exp-1");
        CHECK(env.at("vertex").at("project") == "my-project");
        CHECK(env.at("vertex").at("location") == "europe-west4");

        const json subset = environment_text_subset(env);
        CHECK(subset.at("slurm") ==
              json{{"job_id", "4242"}, {"array_job_id", "4200"}, {"array_task_id", "7"}, {"procid", "3"}});
    }
    SUBCASE("MPI rank and size from the launcher (ranks.hpp's detect_rank)") {
        std::vector<std::unique_ptr<scoped_env>> unset;
        for (const char* v : {"PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "PMIX_RANK",
                              "SLURM_PROCID", "SLURM_NTASKS", "RANK", "WORLD_SIZE"})
            unset.push_back(std::make_unique<scoped_env>(v, std::nullopt));
        {
            scoped_env a("OMPI_COMM_WORLD_RANK", "2"), b("OMPI_COMM_WORLD_SIZE", "4");
            CHECK(capture_environment({false}).at("rank") ==
                  json{{"rank", 2}, {"world_size", 4}, {"source", "OMPI_COMM_WORLD_RANK"}});
        }
        scoped_env a("OMPI_COMM_WORLD_RANK", std::nullopt);
        CHECK(!capture_environment({false}).contains("rank"));
    }
    SUBCASE("SLURM_NODELIST when SLURM_JOB_NODELIST is not set") {
        scoped_env a("SLURM_JOB_NODELIST", std::nullopt), b("SLURM_NODELIST", "n1,n2");
        CHECK(capture_environment({false}).at("slurm").at("nodelist") == "n1,n2");
    }
    SUBCASE("unset or empty: left out") {
        std::vector<std::unique_ptr<scoped_env>> unset;
        for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID",
                              "SLURM_NTASKS", "SLURM_JOB_NAME", "SLURM_JOB_NODELIST", "SLURM_NODELIST",
                              "SLURM_CLUSTER_NAME", "CLOUD_ML_JOB_ID", "CLOUD_ML_TRIAL_ID"})
            unset.push_back(std::make_unique<scoped_env>(v, std::nullopt));
        unset.push_back(std::make_unique<scoped_env>("CUDA_VISIBLE_DEVICES", ""));
        unset.push_back(std::make_unique<scoped_env>("OMP_NUM_THREADS", std::nullopt));
        unset.push_back(std::make_unique<scoped_env>("GOOGLE_CLOUD_PROJECT", "not-in-a-job"));
        const json env = capture_environment({false});
        INFO(env.dump(2));
        for (const char* k : {"slurm", "cuda_visible_devices", "omp_num_threads", "vertex", "git"})
            CHECK_MESSAGE(!env.contains(k), k);
    }
}

TEST_CASE("secrets in the environment and on the command line never reach the JSON") {
    unit::temp_dir dir;
    // A fake /proc: this command line, and a cpuinfo.
    const std::vector<std::string> argv = {
        "/opt/train",   "--lr=0.1",        "--token=tok-AAA1",  "--password",   "pw-BBB2",
        "API_KEY=key-CCC3", "--api-key",   "key-DDD4",          "--secret=sec-EEE5", "--credentials",
        "cred-FFF6",    "https://u:pw-GGG7@example.com/data", "-auth",       "au-HHH8",
        "--Access-Token", "--look-like-option-III9", "db_passwd=pd-JJJ10", "--keyframes", "12",
        "--ssh-key",    "sk-KKK11", "--epochs", "3"};
    std::string cmdline;
    for (const auto& a : argv) {
        cmdline += a;
        cmdline += '\0';
    }
    unit::write_file(dir / "proc" / "self" / "cmdline", cmdline);
    unit::write_file(dir / "proc" / "cpuinfo", "processor\t: 0\nmodel name\t: Fake CPU 9000 @ 1.00GHz\n\n");

    const std::vector<std::string> env_secrets = {"oauth-LLL12", "tok-MMM13", "key-NNN14", "sec-OOO15", "pw-PPP16"};
    scoped_env a("GOOGLE_OAUTH_ACCESS_TOKEN", env_secrets[0]), b("HF_TOKEN", env_secrets[1]),
        c("OPENAI_API_KEY", env_secrets[2]), d("AWS_SECRET_ACCESS_KEY", env_secrets[3]),
        e("DB_PASSWORD", env_secrets[4]), f("CLOUD_ML_JOB_ID", "123");

    environment_options o;
    o.proc_root = dir / "proc";
    o.git = false;
    const json env = capture_environment(o);
    const std::string text = env.dump();
    INFO(env.dump(2));
    for (const char* s : {"AAA1", "BBB2", "CCC3", "DDD4", "EEE5", "FFF6", "GGG7", "HHH8", "III9", "JJJ10", "KKK11"})
        CHECK_MESSAGE(text.find(s) == std::string::npos, s);
    for (const auto& s : env_secrets) CHECK_MESSAGE(text.find(s) == std::string::npos, s);

    const std::vector<std::string> expected = {
        "/opt/train",   "--lr=0.1",   "--token=***", "--password",  "***",
        "API_KEY=***",  "--api-key",  "***",         "--secret=***", "--credentials",
        "***",          "https://***@example.com/data", "-auth",  "***",
        "--Access-Token", "***",      "db_passwd=***", "--keyframes", "12",
        "--ssh-key",    "***",        "--epochs",    "3"};
    CHECK(env.at("command_line") == json(expected));
    CHECK(env.at("cpu").at("model") == "Fake CPU 9000 @ 1.00GHz");
    CHECK(env.at("vertex").at("job_id") == "123");
}

TEST_CASE("redact_command_line: what looks secret and what does not") {
    using v = std::vector<std::string>;
    CHECK(redact_command_line({}) == v{});
    CHECK(redact_command_line({"prog", "--password"}) == v{"prog", "--password"});  // nothing follows
    CHECK(redact_command_line({"--passwd=", "--PASSWORD=x", "-apikey=y", "Api_Key=z"}) ==
          v{"--passwd=***", "--PASSWORD=***", "-apikey=***", "Api_Key=***"});
    CHECK(redact_command_line({"--credential-file", "/x", "--authorization", "Bearer-abc", "--y"}) ==
          v{"--credential-file", "***", "--authorization", "***", "--y"});
    CHECK(redact_command_line({"--key", "k", "--pwd", "p", "--pass=q", "--monkey", "m", "--keys=1"}) ==
          v{"--key", "***", "--pwd", "***", "--pass=***", "--monkey", "m", "--keys=1"});
    CHECK(redact_command_line({"--data=s3://bucket/x", "http://host:8080/p", "ftp://a@b", "user@host:path"}) ==
          v{"--data=s3://bucket/x", "http://host:8080/p", "ftp://***@b", "user@host:path"});
    CHECK(redact_command_line({"-", "--", "=", "token"}) == v{"-", "--", "=", "token"});
}

TEST_CASE("redact_command_line: a table of real-world secret forms") {
    // Each row: the arguments as a shell passes them, and what must be recorded. The secret in every row
    // contains "S3CR3T", which must appear nowhere in the output.
    using v = std::vector<std::string>;
    const std::vector<std::pair<v, v>> table = {
        // HTTP headers (curl, wget, httpie style)
        {{"curl", "--header=Authorization: Bearer S3CR3T"}, {"curl", "--header=***"}},
        {{"curl", "-H", "Authorization: Bearer S3CR3T.abc"}, {"curl", "-H", "***"}},
        {{"curl", "--header", "X-Api-Key: S3CR3T"}, {"curl", "--header", "***"}},
        {{"wget", "Authorization: Bearer S3CR3T"}, {"wget", "Authorization: ***"}},
        {{"tool", "Cookie: session=S3CR3T"}, {"tool", "Cookie: ***"}},
        {{"tool", "--auth-header=Basic S3CR3T"}, {"tool", "--auth-header=***"}},
        {{"tool", "token was Bearer S3CR3T here"}, {"tool", "token was Bearer *** here"}},
        // options named after the secret
        {{"--bearer=S3CR3T"}, {"--bearer=***"}},
        {{"--jwt=S3CR3T"}, {"--jwt=***"}},
        {{"--cookie=sid=S3CR3T"}, {"--cookie=***"}},
        {{"--pw=S3CR3T"}, {"--pw=***"}},
        {{"--passphrase=S3CR3T"}, {"--passphrase=***"}},
        {{"--privatekey=S3CR3T"}, {"--privatekey=***"}},
        {{"--private-key", "S3CR3T"}, {"--private-key", "***"}},
        {{"--accesskey=S3CR3T"}, {"--accesskey=***"}},
        {{"--aws-access-key-id", "S3CR3T"}, {"--aws-access-key-id", "***"}},
        {{"--sas=S3CR3T"}, {"--sas=***"}},
        {{"--session-id", "S3CR3T"}, {"--session-id", "***"}},
        {{"mysql", "-u", "root", "-p", "S3CR3T"}, {"mysql", "-u", "root", "-p", "***"}},
        {{"AWS_SECRET_ACCESS_KEY=S3CR3T"}, {"AWS_SECRET_ACCESS_KEY=***"}},
        // credentials in URLs
        {{"https://user:pa/ss-S3CR3T@host.example/x"}, {"https://***@host.example/x"}},
        {{"--url=https://u:S3CR3T@h/p"}, {"--url=https://***@h/p"}},
        {{"git", "clone", "https://S3CR3T@github.com/o/r.git"}, {"git", "clone", "https://***@github.com/o/r.git"}},
        {{"--data=https://h/x?access_token=S3CR3T&page=2"}, {"--data=https://h/x?access_token=***&page=2"}},
        {{"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=S3CR3T%3D"},
         {"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=***"}},
        {{"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA/S3CR3T&X-Amz-Signature=S3CR3Tabc&X-Amz-Expires=60"},
         {"https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60"}},
        {{"https://storage.googleapis.com/b/o?X-Goog-Signature=S3CR3T#frag"},
         {"https://storage.googleapis.com/b/o?X-Goog-Signature=***#frag"}},
        {{"postgresql://app:S3CR3T@db:5432/prod?sslmode=require"}, {"postgresql://***@db:5432/prod?sslmode=require"}},
        // connection strings
        {{"--conn=Server=db;User Id=app;Password=S3CR3T;Encrypt=true"},
         {"--conn=Server=db;User Id=app;Password=***;Encrypt=true"}},
        {{"--dsn", "host=db user=app password=S3CR3T dbname=x"}, {"--dsn", "host=db user=app password=*** dbname=x"}},
        {{"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=S3CR3T==;EndpointSuffix=core.windows.net"},
         {"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net"}},
        {{"Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=S3CR3T"},
         {"Endpoint=sb://ns/;SharedAccessKeyName=***;SharedAccessKey=***"}},
    };
    for (const auto& row : table) {
        const auto got = redact_command_line(row.first);
        std::string joined;
        for (const auto& a : got) joined += a + " | ";
        INFO(joined);
        CHECK(got == row.second);
        CHECK(joined.find("S3CR3T") == std::string::npos);
    }
    // What must stay: ports, '@' in paths, ordinary options and pairs.
    CHECK(redact_command_line({"http://host:8080/p@x", "https://registry.npmjs.org/@scope/pkg", "--lr=0.1",
                               "--data=a=1;b=2", "--epochs", "3", "user@host:path"}) ==
          v{"http://host:8080/p@x", "https://registry.npmjs.org/@scope/pkg", "--lr=0.1", "--data=a=1;b=2",
            "--epochs", "3", "user@host:path"});
}

TEST_CASE("cpu model from other /proc/cpuinfo layouts; a missing /proc leaves the fields out") {
    unit::temp_dir dir;
    environment_options o;
    o.git = false;
    o.proc_root = dir / "proc";
    SUBCASE("arm: Hardware") {
        unit::write_file(dir / "proc" / "cpuinfo", "processor : 0\nBogoMIPS : 50.00\n\nHardware : Fake SoC\n");
        CHECK(capture_environment(o).at("cpu").at("model") == "Fake SoC");
    }
    SUBCASE("nothing readable") {
        const json env = capture_environment(o);
        CHECK(!env.contains("command_line"));
        CHECK(!env.at("cpu").contains("model"));
        CHECK(env.at("cpu").contains("usable_cores"));
    }
}

TEST_CASE("environment_text_subset keeps only the safe fields") {
    const json env = {
        {"host", "node-1"},
        {"user", "alice"},
        {"pid", 12},
        {"command_line", {"prog", "--x"}},
        {"working_directory", "/home/alice"},
        {"git", {{"commit", "abc"}, {"branch", "main"}, {"dirty", true}}},
        {"compiler", {{"name", "gcc"}, {"version", "12"}}},
        {"mltrack_version", "0.1.0"},
        {"cpu", {{"model", "Fake"}, {"logical_cores", 8}}},
        {"slurm", {{"job_id", "1"}, {"job_name", "secret-project"}, {"nodelist", "n1"}}},
        {"vertex", {{"job_id", "2"}}},
    };
    CHECK(environment_text_subset(env) == json{{"host", "node-1"},
                                               {"mltrack_version", "0.1.0"},
                                               {"git", {{"commit", "abc"}}},
                                               {"compiler", {{"name", "gcc"}, {"version", "12"}}},
                                               {"slurm", {{"job_id", "1"}}},
                                               {"cpu", {{"model", "Fake"}}}});
    CHECK(environment_text_subset(json::array()) == json::object());
    CHECK(environment_text_subset(json{{"git", "not an object"}, {"host", json::object()}}) == json::object());

    const json real = environment_text_subset(capture_environment({false}));
    CHECK(!real.contains("user"));
    CHECK(!real.contains("command_line"));
    CHECK(real.contains("host"));
}

TEST_CASE("tracker: run_start carries metadata.environment (opt-out); TensorBoard shows the safe subset only") {
    unit::temp_dir dir;
    {
        mltrack::tracker t{{"exp"}, mltrack::sinks::jsonl{dir / "runs"}, mltrack::sinks::tensorboard{dir / "tb"}};
        t.start_run("on", start_mode::create, {{"note", "x"}}).end();
        t.start_run("given", start_mode::create, {{"environment", {{"host", "mine"}}}}).end();  // kept as given
        mltrack::config c{"exp"};
        c.capture_environment = false;
        mltrack::tracker off{c, mltrack::sinks::jsonl{dir / "runs"}};
        off.start_run("off").end();
    }
    const auto on = unit::parse_jsonl(dir / "runs" / "exp" / "on" / "events.jsonl").front();
    REQUIRE(on["metadata"].contains("environment"));
    const auto& env = on["metadata"]["environment"];
    CHECK(env["pid"] == static_cast<long long>(::getpid()));
    CHECK(env["mltrack_version"] == MLTRACK_VERSION_STRING);
    CHECK(env.contains("command_line"));
    CHECK(on["metadata"]["note"] == "x");
    const auto given = unit::parse_jsonl(dir / "runs" / "exp" / "given" / "events.jsonl").front();
    CHECK(given["metadata"]["environment"] == nlohmann::json{{"host", "mine"}});
    const auto off = unit::parse_jsonl(dir / "runs" / "exp" / "off" / "events.jsonl").front();
    CHECK_FALSE(off.contains("metadata"));
    // TensorBoard's run/metadata text: the subset (host, version...), never the command line or the user.
    std::string text;
    for (const auto& e : fs::directory_iterator(dir / "tb" / "exp" / "on"))
        for (const auto& ev : tbdec::decode_file(e.path().string()).events)
            for (const auto& v : ev.values)
                if (v.tag == "run/metadata") text += v.t.string_val.empty() ? std::string() : v.t.string_val[0];
    REQUIRE_FALSE(text.empty());
    CHECK(text.find(MLTRACK_VERSION_STRING) != std::string::npos);
    CHECK(text.find("command_line") == std::string::npos);
    CHECK(text.find("working_directory") == std::string::npos);
    CHECK(text.find("\"user\"") == std::string::npos);
}
