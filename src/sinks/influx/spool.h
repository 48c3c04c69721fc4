#pragma once
// The InfluxDB sink's on-disk spool: line protocol waiting for delivery, kept across restarts and
// crashes so a server outage costs latency, never points.
//
// On-disk format (one directory, owned by one Spool at a time):
//   000000000001.lp, 000000000002.lp, ...  Segments: append-only files of whole line-protocol
//       lines, each ending in '\n', named by a 12-digit sequence number. Only the newest segment
//       is ever appended to; a new one is started when it holds >= segment_bytes (~8 MiB by
//       default). Segments wholly before the cursor are deleted.
//   cursor   One line, "nm-influx-spool-cursor 1 <segment> <offset>\n": the first byte not yet
//       delivered. Replaced atomically (cursor.tmp, fsync, rename, fsync of the directory), so it
//       is always the old or the new position. Missing: start at the oldest segment.
//
// Durability: append() returns kOk only after the bytes are written and fdatasync'ed (and, for a
// new segment, the directory fsync'ed). A crash mid-append can leave a torn last line; open()
// truncates every segment after its last '\n', so a partial line is never read. Lines before the
// cursor are never read again; lines after it are read at least once (a crash between a delivery
// and advance() re-reads that batch: InfluxDB overwrites identical points, so this is harmless).
//
// Threads: append() from one writer thread; readBatch() and advance() from one reader thread;
// the two may run concurrently. backlogBytes() from any thread. The reader never sees bytes whose
// append() has not returned kOk.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nm::influx {

struct SpoolOptions {
  std::string dir;  // created (one level) if missing
  // append() refuses (kFull) when the undelivered bytes would exceed this, unless nothing is
  // undelivered (a single commit larger than the limit must not wedge the daemon forever).
  uint64_t max_bytes = uint64_t{1} << 30;
  uint64_t segment_bytes = uint64_t{8} << 20;  // start a new segment once this size is reached
};

struct SpoolPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
};

// Whole lines read from the spool, and where the reader stands once they are delivered.
struct SpoolBatch {
  std::string data;               // the lines, each ending in '\n'
  std::vector<size_t> line_ends;  // offset in `data` just past each line's '\n'
  SpoolPosition end;              // pass to advance() after delivery
  size_t lines() const { return line_ends.size(); }
};

class Spool {
 public:
  enum class AppendResult { kOk, kFull, kIoError };

  // Opens (creating if needed) the spool in options.dir, deletes delivered segments and truncates
  // torn tails. nullptr with *error set on failure.
  static std::unique_ptr<Spool> open(const SpoolOptions& options, std::string* error);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends whole lines (`lines` must be empty or end in '\n') durably. On kFull or kIoError
  // nothing of `lines` is readable and the caller may retry the same bytes later.
  AppendResult append(std::string_view lines, std::string* error);

  // Reads up to max_lines whole lines (and about max_bytes, at least one line) from the cursor,
  // never across a segment boundary. out.lines() == 0 when everything is delivered. false with
  // *error on an I/O error.
  bool readBatch(size_t max_lines, size_t max_bytes, SpoolBatch& out, std::string* error);

  // Durably moves the cursor to `to` (a batch's end) and deletes segments wholly before it.
  bool advance(SpoolPosition to, std::string* error);

  // Undelivered bytes on disk (appended, not yet passed by the cursor).
  uint64_t backlogBytes() const;
  // Bytes of torn lines cut off by open().
  uint64_t truncatedOnOpen() const { return truncated_on_open_; }
  // For tests and logs.
  SpoolPosition cursor() const;
  size_t segmentCount() const;

  // The file name of a segment ("000000000001.lp").
  static std::string segmentName(uint64_t id);

 private:
  explicit Spool(SpoolOptions options);
  bool load(std::string* error);
  bool repairTail(uint64_t id, std::string* error);
  bool startSegment(std::string* error);
  bool writeCursor(SpoolPosition position, std::string* error);
  std::string pathOf(uint64_t id) const;
  // Requires mu_. Moves `position` past fully-read segments that are not the newest.
  void normalizeLocked(SpoolPosition& position) const;
  uint64_t backlogLocked() const;

  const SpoolOptions options_;
  uint64_t truncated_on_open_ = 0;

  // Writer-thread state.
  int active_fd_ = -1;
  uint64_t active_id_ = 0;
  uint64_t active_size_ = 0;
  bool active_dirty_ = false;  // a failed append could not be cut back to active_size_ yet

  // Reader-thread state.
  int read_fd_ = -1;
  uint64_t read_id_ = 0;

  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> segments_;  // id -> durable size; guarded by mu_
  SpoolPosition cursor_;                   // guarded by mu_
};

}  // namespace nm::influx
