#pragma once
// The daemon's pidfile (/tmp/appmonitor.pid by default, as the original). The running daemon
// holds an exclusive flock on it for its whole life, so "running" means "the lock is held" — a
// stale file left by SIGKILL or a reused pid never fools `nmd status`.

#include <sys/types.h>

#include <optional>
#include <string>

namespace nm::cli {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();  // releases the lock and removes the file
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Creates/locks `path` and writes this process's pid. false with `error` when another process
  // holds it ("already running (pid N)") or the file cannot be written.
  bool acquire(const std::string& path, std::string& error);

  // The pid of the process holding `path`'s lock; nullopt when nobody does.
  static std::optional<pid_t> holder(const std::string& path);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace nm::cli
