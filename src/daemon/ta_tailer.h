#pragma once
// Follows the probe's TA files like `tail -F` over a glob (the original daemon ran `tail -F` on
// /tmp/tmp.ta.*) and hands over complete lines with the byte offset after each, so the daemon can
// checkpoint exactly what its sinks have committed and resume there after a restart.
//
// A stream is one file, identified by (st_dev, st_ino), not by its name:
//  - rename rotation (the name now holds another inode): the old file is read to its end through
//    the open descriptor, then the new file is followed from byte 0; the new file's lines are
//    delivered only after the old file reached its end, so a path's lines stay in order.
//  - deletion: the open descriptor is read to its end, then closed and dropped from positions().
//    A file that left the glob stays open for one more rescan after reaching its end (a writer
//    may still append its last line after the rename), then is dropped.
//  - truncation in place (copytruncate): size < offset restarts the stream at 0 (counted). As with
//    tail, a file that is truncated and then regrows past the old offset before a poll cannot be
//    told from an append.
// A line is the bytes before a '\n' (a "\r" before it is removed too). A partial last line waits
// for its newline; it is dropped (counted) only when its file is dropped.
//
// Memory: per followed file, at most one read block plus max_line_bytes.
//
// Threading: not thread-safe; one thread (the daemon's ingest thread) makes every call. Never
// throws; I/O errors (EACCES, a file vanishing between glob and open, EIO) are logged once per
// file, counted, and retried at later polls.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"

namespace nm {

struct TaTailerOptions {
  // glob(3) pattern, expanded at every rescan. With single_file, a literal path (`--ta-file`)
  // followed through rotation the same way, never pattern-expanded.
  std::string glob = "/tmp/tmp.ta.*";
  bool single_file = false;
  size_t max_line_bytes = size_t{4} << 20;
  // Files present at the first rescan and not in restore(): from byte 0, or from their end.
  // Files that appear later always start at 0.
  bool from_start_when_unknown = true;
  size_t max_open_files = 64;  // more matching files wait (oldest modification time first)
  size_t read_block_bytes = size_t{1} << 20;
  std::chrono::milliseconds rescan_interval{200};
};

// Where a followed file has been read to.
struct TaFilePosition {
  std::string path;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t offset = 0;  // the byte just after the last complete line delivered
};

// One line handed to poll()'s callback. Views are valid only during the callback.
struct TaLine {
  std::string_view text;  // without the line break; empty when too_long
  uint64_t dev = 0;
  uint64_t ino = 0;
  const std::string& path;
  uint64_t offset_after = 0;  // the file's position once this line is consumed
  bool too_long = false;      // longer than max_line_bytes: skipped without being buffered whole
};

class TaTailer {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `metrics` must outlive the tailer. `clock` (default steady_clock::now) paces rescans.
  TaTailer(TaTailerOptions options, MetricsRegistry& metrics, Clock clock = {});
  ~TaTailer();
  TaTailer(const TaTailer&) = delete;
  TaTailer& operator=(const TaTailer&) = delete;

  // Before the first poll: files found with the same dev+ino resume at their offset (from 0 and
  // counted as a truncation when the file is now shorter; from 0 when the byte before the offset
  // is not a newline, i.e. the inode number was reused by another file).
  void restore(const std::vector<TaFilePosition>& positions);

  // Rescans the glob when rescan_interval has passed (or rescan() was called), then delivers up
  // to `max_lines` complete lines, per file in order, files interleaved fairly. Returns the number
  // of lines delivered; 0 means idle (sleep briefly before polling again). `on_line` must not
  // call back into the tailer.
  size_t poll(const std::function<void(const TaLine&)>& on_line, size_t max_lines);

  // Makes the next poll rescan the glob regardless of the interval.
  void rescan();

  // Offsets of every followed file (what the daemon checkpoints once its sinks committed).
  std::vector<TaFilePosition> positions() const;

  // Every followed file has been read to its current end (a partial last line aside) and the
  // glob has been scanned at least once: what `--once` waits for. Calls fstat per file.
  bool caughtUp() const;

  // Number of files currently open.
  size_t openFiles() const;

 private:
  struct Stream;
  struct Counters;

  void scan();
  void openPath(const std::string& path, uint64_t dev, uint64_t ino, bool initial);
  size_t serviceStream(Stream& s, const std::function<void(const TaLine&)>& on_line, size_t quota,
                       bool& progressed);
  bool readMore(Stream& s, bool& progressed);
  bool truncated(Stream& s);  // restarts the stream at 0 when its file shrank
  void closeStream(Stream& s, std::string_view why);
  void logOnce(const std::string& key, const std::string& message);

  TaTailerOptions options_;
  Clock clock_;
  std::unique_ptr<Counters> counters_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<TaFilePosition> restored_;
  std::vector<std::string> logged_;  // keys of messages already logged (bounded)
  std::chrono::steady_clock::time_point last_scan_{};
  bool scanned_ = false;
  bool force_scan_ = true;
  uint64_t scan_generation_ = 0;
  size_t next_start_ = 0;  // round-robin start for fairness across polls
};

}  // namespace nm
