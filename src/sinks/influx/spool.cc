#include "sinks/influx/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nm::influx {
namespace {

constexpr std::string_view kSegmentSuffix = ".lp";
constexpr size_t kSegmentDigits = 12;
constexpr std::string_view kCursorName = "cursor";
constexpr std::string_view kCursorTmpName = "cursor.tmp";
constexpr std::string_view kCursorMagic = "nm-influx-spool-cursor 1";
constexpr size_t kReadChunk = 256 * 1024;

std::string errnoText(std::string_view what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

bool parseSegmentName(std::string_view name, uint64_t& id) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size() ||
      name.substr(kSegmentDigits) != kSegmentSuffix) {
    return false;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < kSegmentDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') {
      return false;
    }
    value = value * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  id = value;
  return true;
}

bool fsyncDir(const std::string& dir, std::string* error) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *error = errnoText("cannot open directory", dir);
    return false;
  }
  bool ok = ::fsync(fd) == 0;
  if (!ok) {
    *error = errnoText("cannot fsync directory", dir);
  }
  ::close(fd);
  return ok;
}

bool writeAll(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes unless the file is shorter; returns the count read, -1 on error.
ssize_t readAt(int fd, char* data, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

std::string Spool::segmentName(uint64_t id) {
  return fmt::format("{:0{}}{}", id, kSegmentDigits, kSegmentSuffix);
}

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}

Spool::~Spool() {
  if (active_fd_ >= 0) {
    ::close(active_fd_);
  }
  if (read_fd_ >= 0) {
    ::close(read_fd_);
  }
}

std::unique_ptr<Spool> Spool::open(const SpoolOptions& options, std::string* error) {
  if (options.dir.empty()) {
    *error = "spool directory is empty";
    return nullptr;
  }
  if (::mkdir(options.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *error = errnoText("cannot create spool directory", options.dir);
    return nullptr;
  }
  std::unique_ptr<Spool> spool(new Spool(options));
  if (!spool->load(error)) {
    return nullptr;
  }
  return spool;
}

std::string Spool::pathOf(uint64_t id) const {
  return options_.dir + "/" + segmentName(id);
}

bool Spool::load(std::string* error) {
  const std::string cursor_path = options_.dir + "/" + std::string(kCursorName);
  ::unlink((options_.dir + "/" + std::string(kCursorTmpName)).c_str());

  // The cursor is replaced by rename, so it is whole or absent; anything else is not ours to
  // guess about: start from the oldest segment (re-sending is harmless, skipping is loss).
  if (FILE* f = std::fopen(cursor_path.c_str(), "re")) {
    char buf[128] = {};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    std::string_view text(buf, n);
    unsigned long long segment = 0;
    unsigned long long offset = 0;
    char tail = 0;
    if (text.substr(0, kCursorMagic.size()) == kCursorMagic &&
        std::sscanf(buf + kCursorMagic.size(), " %llu %llu%c", &segment, &offset, &tail) == 3 &&
        tail == '\n') {
      cursor_ = {segment, offset};
    } else {
      spdlog::warn("influx spool: unreadable cursor file {}; delivering from the oldest segment",
                   cursor_path);
    }
  } else if (errno != ENOENT) {
    *error = errnoText("cannot read", cursor_path);
    return false;
  }

  DIR* dir = ::opendir(options_.dir.c_str());
  if (dir == nullptr) {
    *error = errnoText("cannot list spool directory", options_.dir);
    return false;
  }
  std::vector<uint64_t> ids;
  while (dirent* entry = ::readdir(dir)) {
    uint64_t id = 0;
    if (parseSegmentName(entry->d_name, id)) {
      ids.push_back(id);
    }
  }
  ::closedir(dir);

  bool removed = false;
  for (uint64_t id : ids) {
    if (id < cursor_.segment) {
      // Delivered before a crash that came between the cursor update and the unlink.
      ::unlink(pathOf(id).c_str());
      removed = true;
      continue;
    }
    if (!repairTail(id, error)) {
      return false;
    }
  }
  if (removed && !fsyncDir(options_.dir, error)) {
    return false;
  }
  if (auto it = segments_.find(cursor_.segment);
      it != segments_.end() && cursor_.offset > it->second) {
    // The file lost bytes the cursor had passed (storage that lied about fsync): they are gone
    // either way; resume at the end.
    cursor_.offset = it->second;
  }
  normalizeLocked(cursor_);

  if (!segments_.empty()) {
    active_id_ = segments_.rbegin()->first;
    active_size_ = segments_.rbegin()->second;
    active_fd_ = ::open(pathOf(active_id_).c_str(), O_WRONLY | O_CLOEXEC);
    if (active_fd_ < 0) {
      *error = errnoText("cannot open", pathOf(active_id_));
      return false;
    }
  }
  return true;
}

// A crash mid-append can leave a partial last line; everything after the last '\n' goes.
bool Spool::repairTail(uint64_t id, std::string* error) {
  const std::string path = pathOf(id);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *error = errnoText("cannot open", path);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *error = errnoText("cannot stat", path);
    ::close(fd);
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t keep = 0;
  std::string buf(64 * 1024, '\0');
  uint64_t end = size;
  while (end > 0) {
    const uint64_t start = end > buf.size() ? end - buf.size() : 0;
    const size_t want = static_cast<size_t>(end - start);
    if (readAt(fd, buf.data(), want, start) != static_cast<ssize_t>(want)) {
      *error = errnoText("cannot read", path);
      ::close(fd);
      return false;
    }
    const size_t pos = std::string_view(buf.data(), want).rfind('\n');
    if (pos != std::string_view::npos) {
      keep = start + pos + 1;
      break;
    }
    end = start;
  }
  if (keep < size) {
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0 || ::fdatasync(fd) != 0) {
      *error = errnoText("cannot truncate torn tail of", path);
      ::close(fd);
      return false;
    }
    truncated_on_open_ += size - keep;
    spdlog::warn("influx spool: cut {} bytes of a torn last line from {}", size - keep, path);
  }
  ::close(fd);
  segments_[id] = keep;
  return true;
}

bool Spool::startSegment(std::string* error) {
  uint64_t id = active_id_;
  {
    std::lock_guard lock(mu_);
    if (!segments_.empty()) {
      id = std::max(id, segments_.rbegin()->first);
    }
    id = std::max(id, cursor_.segment) + 1;
  }
  const std::string path = pathOf(id);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = errnoText("cannot create", path);
    return false;
  }
  if (!fsyncDir(options_.dir, error)) {
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  if (active_fd_ >= 0) {
    ::close(active_fd_);
  }
  active_fd_ = fd;
  active_id_ = id;
  active_size_ = 0;
  std::lock_guard lock(mu_);
  segments_[id] = 0;
  return true;
}

Spool::AppendResult Spool::append(std::string_view lines, std::string* error) {
  if (lines.empty()) {
    return AppendResult::kOk;
  }
  if (active_dirty_) {
    if (::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0) {
      *error = errnoText("cannot cut back failed append in", pathOf(active_id_));
      return AppendResult::kIoError;
    }
    active_dirty_ = false;
  }
  {
    std::lock_guard lock(mu_);
    const uint64_t backlog = backlogLocked();
    if (backlog > 0 && backlog + lines.size() > options_.max_bytes) {
      *error = fmt::format("spool full: {} bytes undelivered, {} more would exceed {}", backlog,
                           lines.size(), options_.max_bytes);
      return AppendResult::kFull;
    }
  }
  if (active_fd_ < 0 || active_size_ >= options_.segment_bytes) {
    if (!startSegment(error)) {
      return AppendResult::kIoError;
    }
  }
  if (!writeAll(active_fd_, lines.data(), lines.size(), active_size_) ||
      ::fdatasync(active_fd_) != 0) {
    *error = errnoText("cannot append to", pathOf(active_id_));
    // Leave no partial line behind for the reader or the next append; if even that fails,
    // try again before the next append (open() would also cut it).
    active_dirty_ = ::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0;
    return AppendResult::kIoError;
  }
  active_size_ += lines.size();
  std::lock_guard lock(mu_);
  segments_[active_id_] = active_size_;
  return AppendResult::kOk;
}

void Spool::normalizeLocked(SpoolPosition& position) const {
  auto it = segments_.lower_bound(position.segment);
  if (it == segments_.end()) {
    return;
  }
  if (it->first != position.segment) {
    position = {it->first, 0};
  }
  while (position.offset >= it->second && std::next(it) != segments_.end()) {
    ++it;
    position = {it->first, 0};
  }
}

uint64_t Spool::backlogLocked() const {
  uint64_t total = 0;
  for (auto it = segments_.lower_bound(cursor_.segment); it != segments_.end(); ++it) {
    total += it->second;
  }
  if (auto it = segments_.find(cursor_.segment); it != segments_.end()) {
    total -= std::min(cursor_.offset, it->second);
  }
  return total;
}

uint64_t Spool::backlogBytes() const {
  std::lock_guard lock(mu_);
  return backlogLocked();
}

SpoolPosition Spool::cursor() const {
  std::lock_guard lock(mu_);
  return cursor_;
}

size_t Spool::segmentCount() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

bool Spool::readBatch(size_t max_lines, size_t max_bytes, SpoolBatch& out, std::string* error) {
  out.data.clear();
  out.line_ends.clear();
  SpoolPosition pos;
  uint64_t size = 0;
  {
    std::lock_guard lock(mu_);
    pos = cursor_;
    normalizeLocked(pos);
    auto it = segments_.find(pos.segment);
    if (it == segments_.end()) {
      out.end = pos;
      return true;
    }
    size = it->second;
  }
  out.end = pos;
  if (pos.offset >= size || max_lines == 0) {
    return true;
  }
  if (read_fd_ < 0 || read_id_ != pos.segment) {
    if (read_fd_ >= 0) {
      ::close(read_fd_);
    }
    read_fd_ = ::open(pathOf(pos.segment).c_str(), O_RDONLY | O_CLOEXEC);
    if (read_fd_ < 0) {
      *error = errnoText("cannot open", pathOf(pos.segment));
      return false;
    }
    read_id_ = pos.segment;
  }
  uint64_t offset = pos.offset;
  while (offset < size && out.line_ends.size() < max_lines &&
         (out.line_ends.empty() || out.data.size() < max_bytes)) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size - offset));
    const size_t old = out.data.size();
    out.data.resize(old + want);
    if (readAt(read_fd_, out.data.data() + old, want, offset) != static_cast<ssize_t>(want)) {
      *error = errnoText("cannot read", pathOf(pos.segment));
      out.data.clear();
      out.line_ends.clear();
      return false;
    }
    offset += want;
    for (size_t i = old; i < out.data.size() && out.line_ends.size() < max_lines; ++i) {
      if (out.data[i] == '\n') {
        out.line_ends.push_back(i + 1);
      }
    }
  }
  const size_t used = out.line_ends.empty() ? 0 : out.line_ends.back();
  if (used == 0) {
    // Durable sizes always end on a line boundary; this is damage, not a torn append.
    *error = fmt::format("{}: no complete line between offsets {} and {}", pathOf(pos.segment),
                         pos.offset, size);
    out.data.clear();
    return false;
  }
  out.data.resize(used);
  out.end = {pos.segment, pos.offset + used};
  return true;
}

bool Spool::writeCursor(SpoolPosition position, std::string* error) {
  const std::string tmp = options_.dir + "/" + std::string(kCursorTmpName);
  const std::string path = options_.dir + "/" + std::string(kCursorName);
  const std::string text =
      fmt::format("{} {} {}\n", kCursorMagic, position.segment, position.offset);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = errnoText("cannot create", tmp);
    return false;
  }
  if (!writeAll(fd, text.data(), text.size(), 0) || ::fsync(fd) != 0) {
    *error = errnoText("cannot write", tmp);
    ::close(fd);
    return false;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = errnoText("cannot rename to", path);
    return false;
  }
  return fsyncDir(options_.dir, error);
}

bool Spool::advance(SpoolPosition to, std::string* error) {
  {
    std::lock_guard lock(mu_);
    normalizeLocked(to);
    if (to.segment == cursor_.segment && to.offset == cursor_.offset) {
      return true;
    }
  }
  if (!writeCursor(to, error)) {
    return false;
  }
  std::vector<uint64_t> delivered;
  {
    std::lock_guard lock(mu_);
    cursor_ = to;
    for (auto it = segments_.begin(); it != segments_.end() && it->first < to.segment;) {
      delivered.push_back(it->first);
      it = segments_.erase(it);
    }
  }
  for (uint64_t id : delivered) {
    if (read_fd_ >= 0 && read_id_ == id) {
      ::close(read_fd_);
      read_fd_ = -1;
    }
    // A failed unlink only leaves a file that open() removes next time.
    if (::unlink(pathOf(id).c_str()) != 0) {
      spdlog::warn("influx spool: {}", errnoText("cannot delete delivered segment", pathOf(id)));
    }
  }
  return true;
}

}  // namespace nm::influx
