#include "cli/pidfile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nm::cli {
namespace {

std::optional<pid_t> readPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) {
    return std::nullopt;
  }
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  if (pid <= 0) {
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

}  // namespace

PidFile::~PidFile() {
  if (fd_ >= 0) {
    ::unlink(path_.c_str());  // before unlocking, so a starting daemon never loses its new file
    ::close(fd_);
  }
}

bool PidFile::acquire(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open pidfile " + path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::optional<pid_t> pid = readPid(fd);
    error = "already running" + (pid ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
            ", pidfile " + path;
    ::close(fd);
    return false;
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    error = "cannot write pidfile " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  path_ = path;
  fd_ = fd;
  return true;
}

std::optional<pid_t> PidFile::holder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  std::optional<pid_t> result;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    result = readPid(fd);
  }
  ::close(fd);  // also drops our shared lock, if we got it
  return result;
}

}  // namespace nm::cli
