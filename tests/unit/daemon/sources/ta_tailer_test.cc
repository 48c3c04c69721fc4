#include "daemon/ta_tailer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "support/temp_dir.h"

namespace nm {
namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nm_tail") {}
};

// Appends through a descriptor that stays open, like the probe's writer.
class Writer {
 public:
  explicit Writer(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
  ~Writer() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  void write(const std::string& text) {
    ASSERT_EQ(::write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

 private:
  int fd_;
};

void append(const std::string& path, const std::string& text) {
  Writer(path).write(text);
}

struct Got {
  std::string text;
  std::string path;
  uint64_t ino = 0;
  uint64_t offset_after = 0;
  bool too_long = false;
};

struct Harness {
  // The clock stands still: rescans happen exactly where a test calls drain(), however slow the
  // machine.
  explicit Harness(TaTailerOptions o)
      : tailer(std::move(o), metrics, [] { return std::chrono::steady_clock::time_point{}; }) {}

  // Polls until idle. Appends are complete before the call, so no waiting is involved.
  std::vector<Got> drain(size_t max_lines = 1000) {
    tailer.rescan();
    std::vector<Got> out;
    for (int idle = 0; idle < 2;) {
      const size_t n = pollOnce(out, max_lines);
      idle = n == 0 ? idle + 1 : 0;
    }
    return out;
  }
  size_t pollOnce(std::vector<Got>& out, size_t max_lines) {
    return tailer.poll(
        [&](const TaLine& l) {
          out.push_back({std::string(l.text), l.path, l.ino, l.offset_after, l.too_long});
        },
        max_lines);
  }
  double metric(std::string_view name, std::string_view kind = {}) const {
    double value = -1;
    metrics.forEach([&](const MetricSample& s) {
      if (s.name != name) {
        return;
      }
      if (!kind.empty() && (s.labels.empty() || s.labels[0].second != kind)) {
        return;
      }
      value = s.value;
    });
    return value;
  }

  MetricsRegistry metrics;
  TaTailer tailer;
};

TaTailerOptions globIn(const TempDir& dir) {
  TaTailerOptions o;
  o.glob = dir.path() + "/tmp.ta.*";
  return o;
}

std::vector<std::string> texts(const std::vector<Got>& got) {
  std::vector<std::string> out;
  for (const Got& g : got) {
    out.push_back(g.text);
  }
  return out;
}

uint64_t inodeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_ino);
}

using Lines = std::vector<std::string>;

TEST(TaTailerTest, PartialLineIsDeliveredOnceWhole) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  Writer w(path);
  w.write("{\"a\":1}\n{\"b\"");
  Harness h(globIn(dir));
  std::vector<Got> got = h.drain();
  ASSERT_EQ(texts(got), Lines{"{\"a\":1}"});
  EXPECT_EQ(got[0].offset_after, 8u);
  EXPECT_EQ(got[0].path, path);
  ASSERT_EQ(h.tailer.positions().size(), 1u);
  EXPECT_EQ(h.tailer.positions()[0].offset, 8u);
  EXPECT_EQ(h.tailer.positions()[0].ino, inodeOf(path));
  EXPECT_TRUE(h.tailer.caughtUp());  // a partial last line does not hold --once back

  w.write(":2");
  EXPECT_TRUE(h.drain().empty());
  w.write("}\r\n{\"c\":3}\n");
  got = h.drain();
  EXPECT_EQ(texts(got), (Lines{"{\"b\":2}", "{\"c\":3}"}));
  EXPECT_EQ(got[0].offset_after, 8u + 9u);
  EXPECT_EQ(got[1].offset_after, 8u + 9u + 8u);
  EXPECT_EQ(h.metric("netmicroscope_tail_lines_total"), 3);
  EXPECT_EQ(h.metric("netmicroscope_tail_bytes_total"), 25);
  EXPECT_EQ(h.metric("netmicroscope_tail_files_opened_total"), 1);
}

TEST(TaTailerTest, RestoreResumesWithoutDuplicatesOrGaps) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.x");
  for (int i = 0; i < 5; ++i) {
    append(path, "line" + std::to_string(i) + "\n");
  }
  std::vector<TaFilePosition> saved;
  {
    Harness h(globIn(dir));
    std::vector<Got> got;
    h.tailer.rescan();
    h.pollOnce(got, 3);
    ASSERT_EQ(texts(got), (Lines{"line0", "line1", "line2"}));
    saved = h.tailer.positions();
    EXPECT_FALSE(h.tailer.caughtUp());
  }
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].offset, 18u);
  append(path, "line5\n");
  Harness h(globIn(dir));
  h.tailer.restore(saved);
  EXPECT_EQ(texts(h.drain()), (Lines{"line3", "line4", "line5"}));
  EXPECT_EQ(h.metric("netmicroscope_tail_truncations_total"), 0);
}

TEST(TaTailerTest, RestoreOfAShorterFileStartsOverAndCounts) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.x");
  append(path, "a\nb\n");
  Harness h(globIn(dir));
  h.tailer.restore({{path, 0, inodeOf(path), 1000}});
  // dev 0 does not match: an unknown file, read from the start.
  EXPECT_EQ(texts(h.drain()), (Lines{"a", "b"}));

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  Harness h2(globIn(dir));
  h2.tailer.restore({{path, static_cast<uint64_t>(st.st_dev), inodeOf(path), 1000}});
  EXPECT_EQ(texts(h2.drain()), (Lines{"a", "b"}));
  EXPECT_EQ(h2.metric("netmicroscope_tail_truncations_total"), 1);
}

TEST(TaTailerTest, RestoreIntoTheMiddleOfALineMeansAnotherFile) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.x");
  append(path, "first line\nsecond\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  Harness h(globIn(dir));
  h.tailer.restore({{path, static_cast<uint64_t>(st.st_dev), inodeOf(path), 4}});
  EXPECT_EQ(texts(h.drain()), (Lines{"first line", "second"}));
  EXPECT_EQ(h.metric("netmicroscope_tail_errors_total", "restore_mismatch"), 1);
}

TEST(TaTailerTest, RenameRotationFinishesTheOldFileFirst) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  auto old_writer = std::make_unique<Writer>(path);
  old_writer->write("old1\nold2\n");
  Harness h(globIn(dir));
  EXPECT_EQ(texts(h.drain()), (Lines{"old1", "old2"}));
  const uint64_t old_ino = inodeOf(path);

  // Rotate out of the glob; the writer still holds the old file and writes once more.
  ASSERT_EQ(::rename(path.c_str(), dir.file("rotated.1").c_str()), 0);
  old_writer->write("old3\nold4\n");
  Writer new_writer(path);
  new_writer.write("new1\nnew2\n");
  const std::vector<Got> got = h.drain();
  EXPECT_EQ(texts(got), (Lines{"old3", "old4", "new1", "new2"}));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].ino, old_ino);
  EXPECT_NE(got[3].ino, old_ino);
  EXPECT_EQ(got[3].offset_after, 10u);
  EXPECT_EQ(h.metric("netmicroscope_tail_rotations_total"), 1);

  // The old file is dropped once read to its end after a later rescan.
  h.drain();
  const std::vector<TaFilePosition> pos = h.tailer.positions();
  ASSERT_EQ(pos.size(), 1u);
  EXPECT_EQ(pos[0].path, path);
  EXPECT_NE(pos[0].ino, old_ino);
  EXPECT_EQ(pos[0].offset, 10u);
  EXPECT_EQ(h.tailer.openFiles(), 1u);
}

TEST(TaTailerTest, RenameWithinTheGlobKeepsFollowingBoth) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  Writer old_writer(path);
  old_writer.write("a1\n");
  Harness h(globIn(dir));
  EXPECT_EQ(texts(h.drain()), Lines{"a1"});
  ASSERT_EQ(::rename(path.c_str(), dir.file("tmp.ta.1.old").c_str()), 0);
  old_writer.write("a2\n");
  append(path, "b1\n");
  const std::vector<Got> got = h.drain();
  EXPECT_EQ(texts(got), (Lines{"a2", "b1"}));
  EXPECT_EQ(got[0].path, dir.file("tmp.ta.1.old"));
  old_writer.write("a3\n");
  EXPECT_EQ(texts(h.drain()), Lines{"a3"});
  EXPECT_EQ(h.tailer.positions().size(), 2u);
}

TEST(TaTailerTest, CopytruncateRestartsAtZeroAndCounts) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  append(path, "one-long-line\ntwo-long-line\n");
  Harness h(globIn(dir));
  EXPECT_EQ(h.drain().size(), 2u);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  append(path, "short\n");
  const std::vector<Got> got = h.drain();
  EXPECT_EQ(texts(got), Lines{"short"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset_after, 6u);
  EXPECT_EQ(h.metric("netmicroscope_tail_truncations_total"), 1);
  EXPECT_EQ(h.tailer.positions()[0].offset, 6u);
}

TEST(TaTailerTest, DeletedFileIsReadToItsEndThenDropped) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  append(path, "l1\nl2\nl3\n");
  Harness h(globIn(dir));
  std::vector<Got> got;
  h.tailer.rescan();
  ASSERT_EQ(h.pollOnce(got, 1), 1u);  // opened, one line read
  append(path, "l4\n");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  const std::vector<Got> rest = h.drain();
  EXPECT_EQ(texts(rest), (Lines{"l2", "l3", "l4"}));
  h.drain();
  EXPECT_TRUE(h.tailer.positions().empty());
  EXPECT_EQ(h.tailer.openFiles(), 0u);
  EXPECT_EQ(h.metric("netmicroscope_tail_open_files"), 0);
}

TEST(TaTailerTest, UnterminatedLineOfADeletedFileIsCounted) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  append(path, "l1\nhalf");
  Harness h(globIn(dir));
  EXPECT_EQ(texts(h.drain()), Lines{"l1"});
  ASSERT_EQ(::unlink(path.c_str()), 0);
  h.drain();
  h.drain();
  EXPECT_EQ(h.tailer.openFiles(), 0u);
  EXPECT_EQ(h.metric("netmicroscope_tail_partial_lines_dropped_total"), 1);
}

TEST(TaTailerTest, NewFilesArePickedUpAtTheNextRescan) {
  TempDir dir;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  MetricsRegistry metrics;
  TaTailer tailer(globIn(dir), metrics, [&] { return now; });
  std::vector<std::string> got;
  auto poll = [&] { return tailer.poll([&](const TaLine& l) { got.emplace_back(l.text); }, 100); };
  EXPECT_EQ(poll(), 0u);
  EXPECT_TRUE(tailer.caughtUp());
  append(dir.file("tmp.ta.new"), "x\n");
  append(dir.file("other.file"), "not matched\n");
  now += std::chrono::milliseconds(100);
  EXPECT_EQ(poll(), 0u);  // too soon for a rescan
  now += std::chrono::milliseconds(150);
  EXPECT_EQ(poll(), 1u);
  EXPECT_EQ(got, Lines{"x"});
  append(dir.file("tmp.ta.newer"), "y\n");
  tailer.rescan();
  EXPECT_EQ(poll(), 1u);
  EXPECT_EQ(got, (Lines{"x", "y"}));
  EXPECT_EQ(tailer.openFiles(), 2u);
}

TEST(TaTailerTest, OverlongLineIsSkippedOnce) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  const std::string big(5u << 20, 'x');
  append(path, "before\n" + big + "\nafter1\nafter2\n");
  Harness h(globIn(dir));
  const std::vector<Got> got = h.drain();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].text, "before");
  EXPECT_TRUE(got[1].too_long);
  EXPECT_TRUE(got[1].text.empty());
  EXPECT_EQ(got[1].offset_after, 7u + big.size() + 1);
  EXPECT_EQ(got[2].text, "after1");
  EXPECT_FALSE(got[2].too_long);
  EXPECT_EQ(got[3].text, "after2");
  EXPECT_EQ(h.metric("netmicroscope_tail_too_long_lines_total"), 1);
}

TEST(TaTailerTest, OverlongLineWrittenInPieces) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  TaTailerOptions o = globIn(dir);
  o.max_line_bytes = 10;
  o.read_block_bytes = 4096;
  Writer w(path);
  Harness h(o);
  w.write("0123456789\n0123");
  EXPECT_EQ(texts(h.drain()), Lines{"0123456789"});  // exactly the limit is fine
  w.write(std::string(10000, 'y'));
  EXPECT_TRUE(h.drain().empty());
  w.write("zz\nok\n");
  const std::vector<Got> got = h.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].too_long);
  EXPECT_EQ(got[0].offset_after, 11u + 4 + 10000 + 3);
  EXPECT_EQ(got[1].text, "ok");
}

TEST(TaTailerTest, TenThousandLinesAcrossThreeFilesInOrderAndFair) {
  TempDir dir;
  const std::vector<std::string> names = {dir.file("tmp.ta.a"), dir.file("tmp.ta.b"),
                                          dir.file("tmp.ta.c")};
  std::vector<std::unique_ptr<Writer>> writers;
  for (const std::string& n : names) {
    writers.push_back(std::make_unique<Writer>(n));
  }
  for (int i = 0; i < 10000; ++i) {
    writers[static_cast<size_t>(i % 3)]->write("{\"n\":" + std::to_string(i) + "}\n");
  }
  Harness h(globIn(dir));
  std::vector<Got> got;
  std::set<std::string> first_polls;
  h.tailer.rescan();
  for (int p = 0; p < 3; ++p) {
    std::vector<Got> batch;
    ASSERT_EQ(h.pollOnce(batch, 100), 100u);
    for (const Got& g : batch) {
      first_polls.insert(g.path);
      got.push_back(g);
    }
  }
  EXPECT_EQ(first_polls.size(), 3u);  // no file waits for another to finish
  for (const Got& g : h.drain(100)) {
    got.push_back(g);
  }
  ASSERT_EQ(got.size(), 10000u);
  std::map<std::string, int> last;
  std::set<int> seen;
  for (const Got& g : got) {
    const int n = std::stoi(g.text.substr(5));
    EXPECT_TRUE(seen.insert(n).second) << n;
    auto [it, fresh] = last.emplace(g.path, n);
    if (!fresh) {
      EXPECT_EQ(n, it->second + 3) << g.path;
      it->second = n;
    }
  }
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_TRUE(h.tailer.caughtUp());
}

TEST(TaTailerTest, StartAtTheEndOfFilesPresentAtStartUp) {
  TempDir dir;
  const std::string path = dir.file("tmp.ta.1");
  Writer w(path);
  w.write("old1\nold2\npart");
  TaTailerOptions o = globIn(dir);
  o.from_start_when_unknown = false;
  Harness h(o);
  EXPECT_TRUE(h.drain().empty());
  EXPECT_EQ(h.tailer.positions()[0].offset, 10u);
  w.write("ial\n");
  append(dir.file("tmp.ta.2"), "fresh\n");  // appeared later: from its start
  std::vector<std::string> got = texts(h.drain());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Lines{"fresh", "partial"}));
}

TEST(TaTailerTest, SingleFileModeTakesThePathLiterally) {
  TempDir dir;
  const std::string path = dir.file("ta[1].json");
  append(path, "a\n");
  append(dir.file("ta1.json"), "must not be read\n");
  TaTailerOptions o;
  o.glob = path;
  o.single_file = true;
  Harness h(o);
  EXPECT_EQ(texts(h.drain()), Lines{"a"});
  ASSERT_EQ(::rename(path.c_str(), dir.file("rotated").c_str()), 0);
  append(dir.file("rotated"), "b\n");
  append(path, "c\n");
  EXPECT_EQ(texts(h.drain()), (Lines{"b", "c"}));
}

TEST(TaTailerTest, MaxOpenFilesDefersTheRest) {
  TempDir dir;
  append(dir.file("tmp.ta.1"), "1\n");
  append(dir.file("tmp.ta.2"), "2\n");
  append(dir.file("tmp.ta.3"), "3\n");
  TaTailerOptions o = globIn(dir);
  o.max_open_files = 2;
  Harness h(o);
  EXPECT_EQ(h.drain().size(), 2u);
  EXPECT_EQ(h.tailer.openFiles(), 2u);
  EXPECT_EQ(h.metric("netmicroscope_tail_waiting_files"), 1);
  EXPECT_FALSE(h.tailer.caughtUp());
  const std::string done = h.tailer.positions()[0].path;
  ASSERT_EQ(::unlink(done.c_str()), 0);
  h.drain();  // the deleted file is closed here
  const std::vector<Got> got = h.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(h.tailer.caughtUp());
  EXPECT_EQ(h.metric("netmicroscope_tail_waiting_files"), 0);
}

TEST(TaTailerTest, UnreadableAndOddEntriesAreSkipped) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.file("tmp.ta.dir").c_str(), 0755), 0);
  ASSERT_EQ(::mkfifo(dir.file("tmp.ta.fifo").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("/nonexistent", dir.file("tmp.ta.dangling").c_str()), 0);
  const std::string locked = dir.file("tmp.ta.locked");
  append(locked, "secret\n");
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  append(dir.file("tmp.ta.ok"), "fine\n");
  Harness h(globIn(dir));
  const bool root = ::geteuid() == 0;
  std::vector<std::string> got = texts(h.drain());
  std::sort(got.begin(), got.end());
  if (root) {
    EXPECT_EQ(got, (Lines{"fine", "secret"}));  // root reads mode-000 files
  } else {
    EXPECT_EQ(got, Lines{"fine"});
    EXPECT_EQ(h.metric("netmicroscope_tail_errors_total", "open"), 1);
    h.drain();  // retried, but counted and logged once
    EXPECT_EQ(h.metric("netmicroscope_tail_errors_total", "open"), 1);
    ASSERT_EQ(::chmod(locked.c_str(), 0644), 0);
    EXPECT_EQ(texts(h.drain()), Lines{"secret"});
  }
}

}  // namespace
}  // namespace nm
