#pragma once
// Where the daemon's pidfile and log live: flags, else NMD_PID_FILE / NMD_LOG_FILE from the
// .env file or the environment, else the original's /tmp/appmonitor.{pid,log}.

#include <string>

namespace nm::cli {

struct DaemonPaths {
  std::string env_file;  // resolved: the flag, else ./.env when it exists, else empty
  std::string pid_file;
  std::string log_file;
};

// false with `error` only when the .env file named by the flag does not exist.
bool resolveDaemonPaths(const std::string& env_flag, const std::string& pid_flag,
                        const std::string& log_flag, DaemonPaths& paths, std::string& error);

}  // namespace nm::cli
