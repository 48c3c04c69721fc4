#include "daemon/ta_tailer.h"

#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>
#include <utility>

namespace nm {
namespace {

// Lines one file may deliver before the next file gets its turn.
constexpr size_t kLinesPerTurn = 256;
// Messages remembered for logOnce(); past this the memory is reset (and messages may repeat).
constexpr size_t kMaxLoggedKeys = 4096;
// Bytes read per step when looking backwards for the last line break (start-at-end).
constexpr size_t kBackScanBytes = 64 * 1024;

struct Found {
  std::string path;
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t mtime_ns = 0;
};

int64_t mtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

ssize_t preadFully(int fd, char* buf, size_t n, uint64_t offset) {
  while (true) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r >= 0 || errno != EINTR) {
      return r;
    }
  }
}

// Bytes read but not yet delivered. Not a std::string: growing one zero-fills the read block
// on every read, idle or not.
class ReadBuffer {
 public:
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }

  // Room for `n` more bytes at data() + size().
  void reserveTail(size_t n) {
    if (size_ + n <= capacity_) {
      return;
    }
    const size_t capacity = std::max(size_ + n, capacity_ * 2);
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) {
      std::memcpy(bigger.get(), data_.get(), size_);
    }
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  void grow(size_t n) { size_ += n; }
  void dropFront(size_t n) {
    if (n < size_) {
      std::memmove(data_.get(), data_.get() + n, size_ - n);
    }
    size_ = n < size_ ? size_ - n : 0;
  }
  void clear() { size_ = 0; }
  void release() {
    data_.reset();
    size_ = 0;
    capacity_ = 0;
  }
  std::string_view view(size_t pos, size_t n) const { return {data_.get() + pos, n}; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace

struct TaTailer::Counters {
  explicit Counters(MetricsRegistry& m)
      : lines(m.counter("netmicroscope_tail_lines_total", "TA lines read from files")),
        bytes(m.counter("netmicroscope_tail_bytes_total", "Bytes read from TA files")),
        files_opened(
            m.counter("netmicroscope_tail_files_opened_total", "TA files opened for reading")),
        rotations(m.counter("netmicroscope_tail_rotations_total",
                            "Followed TA files renamed or removed (rotation)")),
        truncations(m.counter("netmicroscope_tail_truncations_total",
                              "TA files found shorter than the position read (copytruncate)")),
        too_long(m.counter("netmicroscope_tail_too_long_lines_total",
                           "TA lines longer than the limit, skipped")),
        partial_dropped(m.counter("netmicroscope_tail_partial_lines_dropped_total",
                                  "Unterminated last lines of TA files that went away")),
        open_errors(m.counter("netmicroscope_tail_errors_total", "TA file errors by kind",
                              {{"kind", "open"}})),
        read_errors(m.counter("netmicroscope_tail_errors_total", "TA file errors by kind",
                              {{"kind", "read"}})),
        glob_errors(m.counter("netmicroscope_tail_errors_total", "TA file errors by kind",
                              {{"kind", "glob"}})),
        restore_mismatches(m.counter("netmicroscope_tail_errors_total", "TA file errors by kind",
                                     {{"kind", "restore_mismatch"}})),
        open_files(m.gauge("netmicroscope_tail_open_files", "TA files being followed")),
        waiting_files(m.gauge("netmicroscope_tail_waiting_files",
                              "TA files matched but not opened (max_open_files reached)")) {}

  Counter& lines;
  Counter& bytes;
  Counter& files_opened;
  Counter& rotations;
  Counter& truncations;
  Counter& too_long;
  Counter& partial_dropped;
  Counter& open_errors;
  Counter& read_errors;
  Counter& glob_errors;
  Counter& restore_mismatches;
  Gauge& open_files;
  Gauge& waiting_files;
};

struct TaTailer::Stream {
  std::string path;
  uint64_t dev = 0;
  uint64_t ino = 0;
  int fd = -1;
  uint64_t offset = 0;    // file offset after the last delivered line
  uint64_t read_pos = 0;  // next file offset to read
  // Bytes read but not delivered. pending[0] is at file offset pending_start; pending[consumed]
  // is at `offset` unless skipping.
  ReadBuffer pending;
  uint64_t pending_start = 0;
  size_t consumed = 0;
  size_t searched = 0;    // bytes after `consumed` known to hold no '\n'
  bool skipping = false;  // inside a too-long line: drop bytes up to the next '\n'
  bool at_eof = false;    // the last read returned no bytes
  uint64_t eof_generation = 0;
  bool detached = false;  // no name in the glob holds this file any more
  uint64_t detached_generation = 0;
  Stream* predecessor = nullptr;  // must reach its end before this stream is read
  bool read_error_logged = false;
};

TaTailer::TaTailer(TaTailerOptions options, MetricsRegistry& metrics, Clock clock)
    : options_(std::move(options)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      counters_(std::make_unique<Counters>(metrics)) {
  options_.read_block_bytes = std::max<size_t>(options_.read_block_bytes, 4096);
  options_.max_open_files = std::max<size_t>(options_.max_open_files, 1);
}

TaTailer::~TaTailer() {
  for (auto& s : streams_) {
    if (s->fd >= 0) {
      ::close(s->fd);
    }
  }
  counters_->open_files.set(0);
}

void TaTailer::restore(const std::vector<TaFilePosition>& positions) {
  restored_ = positions;
}

void TaTailer::rescan() {
  force_scan_ = true;
}

void TaTailer::logOnce(const std::string& key, const std::string& message) {
  if (std::find(logged_.begin(), logged_.end(), key) != logged_.end()) {
    return;
  }
  if (logged_.size() >= kMaxLoggedKeys) {
    logged_.clear();
  }
  logged_.push_back(key);
  spdlog::warn("{}", message);
}

void TaTailer::scan() {
  ++scan_generation_;
  std::vector<Found> found;
  std::vector<std::string> paths;
  if (options_.single_file) {
    paths.push_back(options_.glob);
  } else {
    glob_t g{};
    const int rc = ::glob(options_.glob.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        paths.emplace_back(g.gl_pathv[i]);
      }
    } else if (rc != GLOB_NOMATCH) {
      counters_->glob_errors.add();
      logOnce("glob:" + options_.glob,
              fmt::format("tail: cannot expand {} (glob error {})", options_.glob, rc));
    }
    ::globfree(&g);
  }
  for (std::string& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;  // vanished, dangling link, directory, FIFO: not a TA file
    }
    found.push_back({std::move(p), static_cast<uint64_t>(st.st_dev),
                     static_cast<uint64_t>(st.st_ino), mtimeNs(st)});
  }

  // Followed files: still there (maybe under a new name), or gone from the glob.
  std::vector<bool> matched(found.size(), false);
  std::vector<std::pair<std::string, Stream*>> former_paths;  // path a live stream left
  for (auto& s : streams_) {
    auto it = std::find_if(found.begin(), found.end(),
                           [&](const Found& f) { return f.dev == s->dev && f.ino == s->ino; });
    if (it != found.end()) {
      matched[static_cast<size_t>(it - found.begin())] = true;
      if (it->path != s->path) {
        spdlog::info("tail: {} was renamed to {}", s->path, it->path);
        counters_->rotations.add();
        former_paths.emplace_back(s->path, s.get());
        s->path = it->path;
      }
      s->detached = false;
    } else if (!s->detached) {
      spdlog::info("tail: {} was renamed or removed; reading it to its end", s->path);
      counters_->rotations.add();
      s->detached = true;
      s->detached_generation = scan_generation_;
      former_paths.emplace_back(s->path, s.get());
    }
  }

  // New files, oldest first, as far as max_open_files allows.
  std::vector<size_t> fresh;
  for (size_t i = 0; i < found.size(); ++i) {
    if (!matched[i]) {
      fresh.push_back(i);
    }
  }
  std::sort(fresh.begin(), fresh.end(), [&](size_t a, size_t b) {
    return std::tie(found[a].mtime_ns, found[a].path) < std::tie(found[b].mtime_ns, found[b].path);
  });
  const bool initial = !scanned_;
  size_t waiting = 0;
  for (size_t i : fresh) {
    if (openFiles() >= options_.max_open_files) {
      ++waiting;
      continue;
    }
    const Found& f = found[i];
    const size_t before = streams_.size();
    openPath(f.path, f.dev, f.ino, initial);
    if (streams_.size() == before) {
      continue;
    }
    Stream& s = *streams_.back();
    // The file that held this name before it must be finished first (old lines before new).
    for (auto& [path, old] : former_paths) {
      if (path == s.path && old != &s) {
        s.predecessor = old;
        old->at_eof = false;  // re-check its end: lines may have been appended after the rename
      }
    }
  }
  counters_->waiting_files.set(static_cast<int64_t>(waiting));
  if (waiting > 0) {
    logOnce("max_open_files",
            fmt::format("tail: more than {} files match {}; the newest wait until others go away",
                        options_.max_open_files, options_.glob));
  }
  if (initial) {
    // Positions of files not found at start-up are gone for good.
    std::erase_if(restored_, [&](const TaFilePosition& p) {
      return std::none_of(found.begin(), found.end(),
                          [&](const Found& f) { return f.dev == p.dev && f.ino == p.ino; });
    });
  }
  scanned_ = true;
}

void TaTailer::openPath(const std::string& path, uint64_t dev, uint64_t ino, bool initial) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    const std::string key = fmt::format("open:{}:{}:{}", dev, ino, err);
    if (std::find(logged_.begin(), logged_.end(), key) == logged_.end()) {
      counters_->open_errors.add();  // once per file and errno, not once per rescan
    }
    logOnce(key, fmt::format("tail: cannot open {}: {}", path, std::strerror(err)));
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return;
  }
  // The name may have changed hands between stat and open; the descriptor is what counts.
  dev = static_cast<uint64_t>(st.st_dev);
  ino = static_cast<uint64_t>(st.st_ino);
  for (auto& s : streams_) {
    if (s->dev == dev && s->ino == ino) {
      ::close(fd);
      return;
    }
  }
  auto s = std::make_unique<Stream>();
  s->path = path;
  s->dev = dev;
  s->ino = ino;
  s->fd = fd;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t start = 0;
  const auto restored =
      std::find_if(restored_.begin(), restored_.end(),
                   [&](const TaFilePosition& p) { return p.dev == dev && p.ino == ino; });
  if (restored != restored_.end()) {
    const uint64_t offset = restored->offset;
    restored_.erase(restored);
    char before = '\n';
    if (offset > size) {
      counters_->truncations.add();
      spdlog::warn("tail: {} is shorter ({} bytes) than its checkpoint ({}); reading from 0", path,
                   size, offset);
    } else if (offset > 0 && (preadFully(fd, &before, 1, offset - 1) != 1 || before != '\n')) {
      counters_->restore_mismatches.add();
      spdlog::warn(
          "tail: {} has no line end before its checkpoint {}: another file reused the "
          "inode; reading from 0",
          path, offset);
    } else {
      start = offset;
    }
  } else if (initial && !options_.from_start_when_unknown && size > 0) {
    // Start after the last complete line, so a half-written line is not delivered as a fragment.
    start = size;
    std::string block;
    uint64_t end = size;
    bool found_break = false;
    while (end > 0 && size - end < options_.max_line_bytes + 1) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(end, kBackScanBytes));
      block.resize(n);
      if (preadFully(fd, block.data(), n, end - n) != static_cast<ssize_t>(n)) {
        break;
      }
      const size_t nl = block.rfind('\n');
      if (nl != std::string::npos) {
        start = end - n + nl + 1;
        found_break = true;
        break;
      }
      end -= n;
    }
    if (!found_break && end == 0) {
      start = 0;  // a single partial line: it is the next line to come
    } else if (!found_break) {
      s->skipping = true;  // inside an over-long line: drop it up to its end
    }
  }
  s->offset = start;
  s->read_pos = start;
  s->pending_start = start;
  spdlog::info("tail: following {} from byte {}", path, start);
  counters_->files_opened.add();
  streams_.push_back(std::move(s));
  counters_->open_files.set(static_cast<int64_t>(openFiles()));
}

bool TaTailer::truncated(Stream& s) {
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) {
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size >= s.read_pos) {
    return false;
  }
  spdlog::warn("tail: {} was truncated to {} bytes (had read {}); reading from 0", s.path, size,
               s.read_pos);
  counters_->truncations.add();
  s.offset = 0;
  s.read_pos = 0;
  s.pending.clear();
  s.pending_start = 0;
  s.consumed = 0;
  s.searched = 0;
  s.skipping = false;
  s.at_eof = false;
  return true;
}

bool TaTailer::readMore(Stream& s, bool& progressed) {
  // Keep only the undelivered bytes before reading more.
  if (s.consumed > 0) {
    s.pending.dropFront(s.consumed);
    s.pending_start += s.consumed;
    s.consumed = 0;
  }
  if (s.pending.empty() && s.pending.capacity() > 2 * options_.read_block_bytes) {
    s.pending.release();  // after a long line: give the memory back
  }
  s.pending.reserveTail(options_.read_block_bytes);
  const ssize_t n =
      preadFully(s.fd, s.pending.data() + s.pending.size(), options_.read_block_bytes, s.read_pos);
  if (n < 0) {
    counters_->read_errors.add();
    if (!s.read_error_logged) {
      s.read_error_logged = true;
      spdlog::warn("tail: cannot read {}: {}", s.path, std::strerror(errno));
    }
    return false;
  }
  if (n == 0) {
    if (truncated(s)) {
      progressed = true;  // read again from 0 in the next round
      return false;
    }
    if (!s.at_eof) {
      progressed = true;  // a successor may now start
    }
    s.at_eof = true;
    s.eof_generation = scan_generation_;
    return false;
  }
  s.pending.grow(static_cast<size_t>(n));
  s.read_pos += static_cast<uint64_t>(n);
  s.at_eof = false;
  s.read_error_logged = false;
  counters_->bytes.add(static_cast<uint64_t>(n));
  progressed = true;
  return true;
}

size_t TaTailer::serviceStream(Stream& s, const std::function<void(const TaLine&)>& on_line,
                               size_t quota, bool& progressed) {
  size_t delivered = 0;
  bool read_once = false;
  while (delivered < quota) {
    const size_t from = s.consumed + s.searched;
    const void* hit = from < s.pending.size()
                          ? std::memchr(s.pending.data() + from, '\n', s.pending.size() - from)
                          : nullptr;
    if (hit == nullptr) {
      s.searched = s.pending.size() - s.consumed;
      if (s.skipping || s.searched > options_.max_line_bytes) {
        // Over the limit without a line end: forget the bytes, remember only that we skip.
        s.skipping = true;
        s.pending_start += s.pending.size();
        s.pending.clear();
        s.consumed = 0;
        s.searched = 0;
      }
      if (read_once || !readMore(s, progressed)) {
        break;
      }
      read_once = true;
      continue;
    }
    const size_t nl = static_cast<size_t>(static_cast<const char*>(hit) - s.pending.data());
    const size_t begin = s.consumed;
    s.consumed = nl + 1;
    s.searched = 0;
    s.offset = s.pending_start + s.consumed;
    size_t length = nl - begin;
    const bool too_long = s.skipping || length > options_.max_line_bytes;
    s.skipping = false;
    if (!too_long && length > 0 && s.pending.data()[begin + length - 1] == '\r') {
      --length;
    }
    const std::string_view text = too_long ? std::string_view() : s.pending.view(begin, length);
    if (too_long) {
      counters_->too_long.add();
      spdlog::warn("tail: skipped a line over {} bytes in {} (ends at byte {})",
                   options_.max_line_bytes, s.path, s.offset);
    }
    counters_->lines.add();
    ++delivered;
    progressed = true;
    on_line(TaLine{text, s.dev, s.ino, s.path, s.offset, too_long});
  }
  return delivered;
}

void TaTailer::closeStream(Stream& s, std::string_view why) {
  if (s.skipping || s.pending.size() > s.consumed) {
    counters_->partial_dropped.add();
    spdlog::warn("tail: {} ended with an unterminated line; dropped", s.path);
  }
  spdlog::info("tail: done with {} at byte {} ({})", s.path, s.offset, why);
  ::close(s.fd);
  s.fd = -1;
  for (auto& other : streams_) {
    if (other->predecessor == &s) {
      other->predecessor = nullptr;
    }
  }
}

size_t TaTailer::poll(const std::function<void(const TaLine&)>& on_line, size_t max_lines) {
  const auto now = clock_();
  if (force_scan_ || !scanned_ || now - last_scan_ >= options_.rescan_interval) {
    force_scan_ = false;
    last_scan_ = now;
    scan();
  }
  size_t total = 0;
  bool progressed = true;
  while (total < max_lines && progressed && !streams_.empty()) {
    progressed = false;
    const size_t count = streams_.size();
    for (size_t k = 0; k < count && total < max_lines; ++k) {
      Stream& s = *streams_[(next_start_ + k) % count];
      if (s.fd < 0 || (s.predecessor != nullptr && !s.predecessor->at_eof)) {
        continue;
      }
      total += serviceStream(s, on_line, std::min(kLinesPerTurn, max_lines - total), progressed);
    }
  }
  ++next_start_;

  // A file that left the glob is closed once read to its end after a later rescan.
  bool closed = false;
  for (auto& s : streams_) {
    if (s->detached && s->at_eof && s->eof_generation > s->detached_generation) {
      closeStream(*s, "renamed or removed");
      closed = true;
    }
  }
  if (closed) {
    std::erase_if(streams_, [](const std::unique_ptr<Stream>& s) { return s->fd < 0; });
    counters_->open_files.set(static_cast<int64_t>(openFiles()));
    if (counters_->waiting_files.value() > 0) {
      force_scan_ = true;  // a waiting file can take the freed slot now
    }
  }
  return total;
}

std::vector<TaFilePosition> TaTailer::positions() const {
  std::vector<TaFilePosition> out;
  out.reserve(streams_.size());
  for (const auto& s : streams_) {
    out.push_back({s->path, s->dev, s->ino, s->offset});
  }
  return out;
}

bool TaTailer::caughtUp() const {
  if (!scanned_ || counters_->waiting_files.value() > 0) {
    return false;
  }
  for (const auto& s : streams_) {
    struct stat st {};
    if (::fstat(s->fd, &st) != 0) {
      continue;
    }
    if (static_cast<uint64_t>(st.st_size) != s->read_pos) {
      return false;
    }
    const size_t rest = s->pending.size() - s->consumed;
    if (!s->skipping && rest > 0 &&
        std::memchr(s->pending.data() + s->consumed, '\n', rest) != nullptr) {
      return false;
    }
  }
  return true;
}

size_t TaTailer::openFiles() const {
  return streams_.size();
}

}  // namespace nm
