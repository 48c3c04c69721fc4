#include "daemon/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace nm {
namespace {

using Json = nlohmann::json;

bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string directoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

bool saveCheckpoint(const std::string& path, const Checkpoint& checkpoint, std::string& error) {
  Json files = Json::array();
  for (const TaFilePosition& f : checkpoint.files) {
    files.push_back({{"path", f.path}, {"dev", f.dev}, {"ino", f.ino}, {"offset", f.offset}});
  }
  Json summarizers = Json::object();
  for (const auto& [deployment, st] : checkpoint.summarizers) {
    Json pairs = Json::array();
    for (const auto& [device, application] : st.pairs) {
      pairs.push_back({device, application});
    }
    summarizers[deployment] = {
        {"has_previous", st.has_previous}, {"ts_end", st.ts_end}, {"pairs", std::move(pairs)}};
  }
  const Json doc = {{"version", 1}, {"files", std::move(files)}, {"summarizers", summarizers}};
  // Strict UTF-8 is not guaranteed for device names from foreign records: replace, don't throw.
  const std::string text = doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = writeAll(fd, text) && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok) {
    error = "cannot write " + tmp + ": " + std::strerror(saved_errno);
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    return false;
  }
  const int dir = ::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // makes the rename itself durable
    ::close(dir);
  }
  return true;
}

bool loadCheckpoint(const std::string& path, Checkpoint& checkpoint, std::string& error) {
  checkpoint = {};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
      return true;
    }
    error = "cannot read checkpoint " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const Json doc = Json::parse(buffer.str(), nullptr, false);
  try {
    if (doc.is_discarded() || !doc.is_object() || doc.value("version", 0) != 1) {
      error = "checkpoint " + path + " is not a version 1 checkpoint";
      return false;
    }
    for (const Json& f : doc.at("files")) {
      checkpoint.files.push_back({f.at("path").get<std::string>(), f.at("dev").get<uint64_t>(),
                                  f.at("ino").get<uint64_t>(), f.at("offset").get<uint64_t>()});
    }
    for (const auto& [deployment, s] : doc.at("summarizers").items()) {
      SummarizerState st;
      st.has_previous = s.at("has_previous").get<bool>();
      st.ts_end = s.at("ts_end").get<int64_t>();
      for (const Json& p : s.at("pairs")) {
        st.pairs.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
      }
      checkpoint.summarizers.emplace(deployment, std::move(st));
    }
  } catch (const Json::exception& e) {
    // Start-up path only: a damaged checkpoint is reported, not guessed around.
    error = "checkpoint " + path + " is damaged: " + e.what();
    checkpoint = {};
    return false;
  }
  return true;
}

}  // namespace nm
