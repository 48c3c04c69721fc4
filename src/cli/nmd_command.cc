// `netmicroscope nmd start|stop|status|restart|debug|kill`: the original's daemon control, with
// its pidfile and log file, around `netmicroscope daemon`. Also reachable as `nmd ...` through a
// symlink named nmd.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/daemon_paths.h"
#include "cli/pidfile.h"

namespace nm::cli {
namespace {

struct NmdOptions {
  std::string action;
  std::string env_file;
  std::string pid_file;
  std::string log_file;
  int timeout_s = 30;
};

std::string selfExe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("netmicroscope");
}

std::vector<std::string> daemonArgs(const NmdOptions& o, const DaemonPaths& paths) {
  std::vector<std::string> args = {selfExe(),      "daemon",     "--pid-file",
                                   paths.pid_file, "--log-file", paths.log_file};
  if (!o.env_file.empty()) {
    args.insert(args.end(), {"--env", o.env_file});
  }
  return args;
}

[[noreturn]] void execArgs(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::perror("exec");
  ::_exit(127);
}

void printLogTail(const std::string& log_file, size_t lines) {
  std::ifstream in(log_file);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) {
      tail.pop_front();
    }
  }
  for (const std::string& line : tail) {
    std::fprintf(stderr, "  %s\n", line.c_str());
  }
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

int start(const NmdOptions& o, const DaemonPaths& paths) {
  if (std::optional<pid_t> pid = PidFile::holder(paths.pid_file)) {
    std::printf("nmd is already running (pid %d)\n", *pid);
    return 0;
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    std::perror("pipe");
    return 1;
  }
  const std::vector<std::string> args = daemonArgs(o, paths);
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    // Detach twice (no controlling terminal, not a session leader), as the original did.
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) {
      const auto n = ::write(pipe_fds[1], &grandchild, sizeof(grandchild));
      ::_exit(n == sizeof(grandchild) ? 0 : 1);
    }
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    // Errors before the daemon's logger exists (a bad .env) still reach the log file.
    const int log_fd = ::open(paths.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int out_fd = log_fd >= 0 ? log_fd : ::open("/dev/null", O_WRONLY);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    execArgs(args);
  }
  ::close(pipe_fds[1]);
  pid_t daemon_pid = -1;
  const auto n = ::read(pipe_fds[0], &daemon_pid, sizeof(daemon_pid));
  ::close(pipe_fds[0]);
  ::waitpid(child, nullptr, 0);
  if (n != sizeof(daemon_pid) || daemon_pid <= 0) {
    std::fprintf(stderr, "nmd: could not start the daemon\n");
    return 1;
  }
  bool died = false;
  const bool up = waitUntil(
      [&] {
        if (PidFile::holder(paths.pid_file) == daemon_pid) {
          return true;
        }
        died = ::kill(daemon_pid, 0) != 0;
        return died;
      },
      std::chrono::seconds(15));
  if (!up || died) {
    std::fprintf(stderr, "nmd failed to start; the end of %s:\n", paths.log_file.c_str());
    printLogTail(paths.log_file, 15);
    return 1;
  }
  std::printf("nmd started (pid %d), log: %s\n", daemon_pid, paths.log_file.c_str());
  return 0;
}

int stop(const NmdOptions& o, const DaemonPaths& paths) {
  const std::optional<pid_t> pid = PidFile::holder(paths.pid_file);
  if (!pid) {
    std::printf("nmd is not running\n");
    return 0;
  }
  ::kill(*pid, SIGTERM);  // the daemon flushes every sink, then releases its pidfile
  if (!waitUntil([&] { return !PidFile::holder(paths.pid_file); },
                 std::chrono::seconds(o.timeout_s))) {
    std::fprintf(stderr, "nmd (pid %d) still running after %d s; `nmd kill` forces it\n", *pid,
                 o.timeout_s);
    return 1;
  }
  std::printf("nmd stopped (pid %d)\n", *pid);
  return 0;
}

int killDaemon(const DaemonPaths& paths) {
  const std::optional<pid_t> pid = PidFile::holder(paths.pid_file);
  if (!pid) {
    std::printf("nmd is not running\n");
    return 0;
  }
  ::kill(*pid, SIGKILL);
  waitUntil([&] { return !PidFile::holder(paths.pid_file); }, std::chrono::seconds(10));
  ::unlink(paths.pid_file.c_str());  // SIGKILL left it behind
  std::printf("nmd killed (pid %d); unflushed data is replayed at the next start\n", *pid);
  return 0;
}

int runNmd(const NmdOptions& o) {
  DaemonPaths paths;
  std::string error;
  if (!resolveDaemonPaths(o.env_file, o.pid_file, o.log_file, paths, error)) {
    std::fprintf(stderr, "nmd: %s\n", error.c_str());
    return 2;
  }
  if (o.action == "start") {
    return start(o, paths);
  }
  if (o.action == "stop") {
    return stop(o, paths);
  }
  if (o.action == "restart") {
    const int rc = stop(o, paths);
    return rc != 0 ? rc : start(o, paths);
  }
  if (o.action == "status") {
    if (std::optional<pid_t> pid = PidFile::holder(paths.pid_file)) {
      std::printf("nmd is running (pid %d), log: %s\n", *pid, paths.log_file.c_str());
      return 0;
    }
    std::printf("nmd is not running\n");
    return 3;  // LSB: program is not running
  }
  if (o.action == "kill") {
    return killDaemon(paths);
  }
  // debug: in the foreground, logging to the terminal as well as the log file.
  std::vector<std::string> args = daemonArgs(o, paths);
  args.push_back("--stderr");
  execArgs(args);
}

}  // namespace

Runner addNmdCommand(CLI::App& app) {
  auto opts = std::make_shared<NmdOptions>();
  CLI::App* cmd = app.add_subcommand("nmd", "Control the background daemon (as the original nmd)");
  cmd->add_option("action", opts->action, "start|stop|status|restart|debug|kill")
      ->required()
      ->check(CLI::IsMember({"start", "stop", "status", "restart", "debug", "kill"}));
  cmd->add_option("--env", opts->env_file, "The .env file (default: ./.env when present)");
  cmd->add_option("--pid-file", opts->pid_file, "Default: NMD_PID_FILE or /tmp/appmonitor.pid");
  cmd->add_option("--log-file", opts->log_file, "Default: NMD_LOG_FILE or /tmp/appmonitor.log");
  cmd->add_option("--timeout", opts->timeout_s, "Seconds `stop` waits for the flush")
      ->default_val(30);
  return [opts] { return runNmd(*opts); };
}

}  // namespace nm::cli
