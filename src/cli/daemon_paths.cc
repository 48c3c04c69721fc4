#include "cli/daemon_paths.h"

#include <unistd.h>

#include "daemon/env_config.h"

namespace nm::cli {

bool resolveDaemonPaths(const std::string& env_flag, const std::string& pid_flag,
                        const std::string& log_flag, DaemonPaths& paths, std::string& error) {
  paths.env_file = env_flag;
  if (paths.env_file.empty() && ::access(".env", R_OK) == 0) {
    paths.env_file = ".env";  // the original ran from its folder, next to its .env
  }
  if (!paths.env_file.empty() && ::access(paths.env_file.c_str(), R_OK) != 0) {
    error = "cannot read " + paths.env_file;
    return false;
  }
  // Other errors in the file are the daemon's to report (in its log); here only paths matter.
  const ConfigResult r = loadDaemonConfig(paths.env_file, processEnvironment());
  paths.pid_file = pid_flag.empty() ? r.config.daemon.pid_file : pid_flag;
  paths.log_file = log_flag.empty() ? r.config.daemon.log_file : log_flag;
  return true;
}

}  // namespace nm::cli
