#include "sinks/influx/spool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "influx_test_support.h"

namespace nm::influx {
namespace {

using influx_test::TempDir;

std::unique_ptr<Spool> openSpool(const std::string& dir, uint64_t max_bytes = 1 << 20,
                                 uint64_t segment_bytes = 1 << 20) {
  SpoolOptions options;
  options.dir = dir;
  options.max_bytes = max_bytes;
  options.segment_bytes = segment_bytes;
  std::string error;
  auto spool = Spool::open(options, &error);
  EXPECT_NE(spool, nullptr) << error;
  return spool;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads and advances until the spool is empty; returns everything read.
std::string drain(Spool& spool, size_t max_lines = 1000) {
  std::string all;
  SpoolBatch batch;
  std::string error;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(spool.readBatch(max_lines, 1 << 20, batch, &error)) << error;
    if (batch.lines() == 0) {
      break;
    }
    all += batch.data;
    EXPECT_TRUE(spool.advance(batch.end, &error)) << error;
  }
  return all;
}

TEST(Spool, AppendReadAdvanceInOrder) {
  TempDir dir;
  auto spool = openSpool(dir.path());
  std::string error;
  ASSERT_EQ(spool->append("a 1\nb 2\n", &error), Spool::AppendResult::kOk);
  ASSERT_EQ(spool->append("c 3\n", &error), Spool::AppendResult::kOk);
  EXPECT_EQ(spool->backlogBytes(), 12u);

  SpoolBatch batch;
  ASSERT_TRUE(spool->readBatch(2, 1 << 20, batch, &error));
  EXPECT_EQ(batch.data, "a 1\nb 2\n");
  ASSERT_EQ(batch.lines(), 2u);
  EXPECT_EQ(batch.line_ends[0], 4u);
  // Reading again without advancing gives the same lines (a failed delivery re-reads them).
  SpoolBatch again;
  ASSERT_TRUE(spool->readBatch(2, 1 << 20, again, &error));
  EXPECT_EQ(again.data, batch.data);
  ASSERT_TRUE(spool->advance(batch.end, &error));
  EXPECT_EQ(spool->backlogBytes(), 4u);
  EXPECT_EQ(drain(*spool), "c 3\n");
  EXPECT_EQ(spool->backlogBytes(), 0u);
}

TEST(Spool, CursorSurvivesReopen) {
  TempDir dir;
  std::string error;
  {
    auto spool = openSpool(dir.path());
    ASSERT_EQ(spool->append("a\nb\nc\n", &error), Spool::AppendResult::kOk);
    SpoolBatch batch;
    ASSERT_TRUE(spool->readBatch(1, 1 << 20, batch, &error));
    ASSERT_TRUE(spool->advance(batch.end, &error));
  }
  auto spool = openSpool(dir.path());
  EXPECT_EQ(spool->backlogBytes(), 4u);
  EXPECT_EQ(drain(*spool), "b\nc\n");
  EXPECT_EQ(readFile(dir.path() + "/cursor"), "nm-influx-spool-cursor 1 1 6\n");
}

TEST(Spool, RollsSegmentsAndDeletesDeliveredOnes) {
  TempDir dir;
  auto spool = openSpool(dir.path(), 1 << 20, /*segment_bytes=*/10);
  std::string error;
  std::string expected;
  for (int i = 0; i < 6; ++i) {
    const std::string lines = "line" + std::to_string(i) + " x=1\n";  // 11 bytes: one per segment
    expected += lines;
    ASSERT_EQ(spool->append(lines, &error), Spool::AppendResult::kOk);
  }
  EXPECT_EQ(spool->segmentCount(), 6u);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/000000000001.lp"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/000000000006.lp"));
  // Batches never cross a segment boundary.
  SpoolBatch batch;
  ASSERT_TRUE(spool->readBatch(100, 1 << 20, batch, &error));
  EXPECT_EQ(batch.data, "line0 x=1\n");
  EXPECT_EQ(drain(*spool), expected);
  // Only the newest (still appended to) segment is left.
  EXPECT_EQ(spool->segmentCount(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/000000000005.lp"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/000000000006.lp"));
  ASSERT_EQ(spool->append("after x=1\n", &error), Spool::AppendResult::kOk);
  EXPECT_EQ(drain(*spool), "after x=1\n");
}

TEST(Spool, TornTailIsCutOnOpenAndNeverRead) {
  TempDir dir;
  std::string error;
  {
    auto spool = openSpool(dir.path());
    ASSERT_EQ(spool->append("m v=1 1\nm v=2 2\n", &error), Spool::AppendResult::kOk);
  }
  const std::string segment = dir.path() + "/000000000001.lp";
  {
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    out << "m v=3";  // a crash mid-append
  }
  auto spool = openSpool(dir.path());
  EXPECT_EQ(spool->truncatedOnOpen(), 5u);
  EXPECT_EQ(readFile(segment), "m v=1 1\nm v=2 2\n");
  // The next append starts on a fresh line, not glued to the torn bytes.
  ASSERT_EQ(spool->append("m v=4 4\n", &error), Spool::AppendResult::kOk);
  EXPECT_EQ(drain(*spool), "m v=1 1\nm v=2 2\nm v=4 4\n");
}

TEST(Spool, SegmentWithoutAnyNewlineIsEmptiedOnOpen) {
  TempDir dir;
  {
    std::ofstream out(dir.path() + "/000000000003.lp", std::ios::binary);
    out << "half a li";
  }
  auto spool = openSpool(dir.path());
  EXPECT_EQ(spool->truncatedOnOpen(), 9u);
  EXPECT_EQ(spool->backlogBytes(), 0u);
  std::string error;
  ASSERT_EQ(spool->append("x v=1\n", &error), Spool::AppendResult::kOk);
  EXPECT_EQ(drain(*spool), "x v=1\n");
}

TEST(Spool, SegmentsBeforeTheCursorAreRemovedOnOpen) {
  // A crash between the cursor update and the unlink of a delivered segment.
  TempDir dir;
  {
    std::ofstream(dir.path() + "/000000000001.lp", std::ios::binary) << "old v=1\n";
    std::ofstream(dir.path() + "/000000000002.lp", std::ios::binary) << "new v=1\nnew v=2\n";
    std::ofstream(dir.path() + "/cursor", std::ios::binary) << "nm-influx-spool-cursor 1 2 8\n";
  }
  auto spool = openSpool(dir.path());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/000000000001.lp"));
  EXPECT_EQ(drain(*spool), "new v=2\n");
}

TEST(Spool, UnreadableCursorResendsEverythingRatherThanSkipping) {
  TempDir dir;
  {
    std::ofstream(dir.path() + "/000000000001.lp", std::ios::binary) << "a v=1\n";
    std::ofstream(dir.path() + "/cursor", std::ios::binary) << "garbage";
  }
  auto spool = openSpool(dir.path());
  EXPECT_EQ(drain(*spool), "a v=1\n");
}

TEST(Spool, FullRefusesUntilDelivered) {
  TempDir dir;
  auto spool = openSpool(dir.path(), /*max_bytes=*/20);
  std::string error;
  ASSERT_EQ(spool->append("0123456789\n", &error), Spool::AppendResult::kOk);  // 11
  EXPECT_EQ(spool->append("0123456789\n", &error), Spool::AppendResult::kFull);
  EXPECT_NE(error.find("spool full"), std::string::npos) << error;
  EXPECT_EQ(drain(*spool), "0123456789\n");
  ASSERT_EQ(spool->append("abcdefghij\n", &error), Spool::AppendResult::kOk);
  EXPECT_EQ(drain(*spool), "abcdefghij\n");
  // A single append larger than the limit still goes in when nothing is waiting, so one big
  // commit cannot wedge the daemon.
  EXPECT_EQ(spool->append(std::string(30, 'x') + "\n", &error), Spool::AppendResult::kOk);
}

TEST(Spool, ReadBatchRespectsLineAndByteLimits) {
  TempDir dir;
  auto spool = openSpool(dir.path());
  std::string error;
  std::string lines;
  for (int i = 0; i < 100; ++i) {
    lines += "line" + std::to_string(1000 + i) + "\n";  // 9 bytes each
  }
  ASSERT_EQ(spool->append(lines, &error), Spool::AppendResult::kOk);
  SpoolBatch batch;
  ASSERT_TRUE(spool->readBatch(7, 1 << 20, batch, &error));
  EXPECT_EQ(batch.lines(), 7u);
  EXPECT_EQ(batch.data, lines.substr(0, 63));
  // max_bytes is checked per read chunk; a batch holds at least one line.
  ASSERT_TRUE(spool->readBatch(1000, 1, batch, &error));
  EXPECT_GE(batch.lines(), 1u);
  EXPECT_EQ(batch.data, lines.substr(0, batch.data.size()));
}

std::string chunkOf(int i, int lines_per_chunk) {
  std::string out;
  for (int j = 0; j < lines_per_chunk; ++j) {
    out += "crash,tag=t" + std::to_string(j) + " v=" + std::to_string(i * lines_per_chunk + j) +
           "i " + std::to_string(i) + "\n";
  }
  return out;
}

// A child appends (and now and then delivers) as fast as it can and reports what returned; the
// parent SIGKILLs it at some instant. Reopened, the spool must hold only whole lines, lose
// nothing acknowledged, and resume no earlier than the last acknowledged cursor.
TEST(Spool, SurvivesSigkillAtAnyInstant) {
  constexpr int kLinesPerChunk = 40;
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      SpoolOptions options;
      options.dir = dir.path();
      options.segment_bytes = 64 * 1024;  // rolls and deletions happen too
      std::string error;
      auto spool = Spool::open(options, &error);
      if (!spool) {
        ::_exit(1);
      }
      uint64_t consumed = 0;
      for (int i = 0;; ++i) {
        if (spool->append(chunkOf(i, kLinesPerChunk), &error) != Spool::AppendResult::kOk) {
          ::_exit(2);
        }
        const std::string ack = "A " + std::to_string(i + 1) + "\n";
        if (::write(fds[1], ack.data(), ack.size()) < 0) {
          ::_exit(3);
        }
        if (i % 3 == 0) {
          SpoolBatch batch;
          if (spool->readBatch(57, 1 << 20, batch, &error) && batch.lines() > 0 &&
              spool->advance(batch.end, &error)) {
            consumed += batch.lines();
            const std::string c = "C " + std::to_string(consumed) + "\n";
            if (::write(fds[1], c.data(), c.size()) < 0) {
              ::_exit(3);
            }
          }
        }
      }
    }
    ::close(fds[1]);
    // Let it run for a while that varies by round, then kill it mid-whatever.
    uint64_t appended = 0;
    uint64_t consumed = 0;
    std::string pending;
    const uint64_t kill_after = 20 + static_cast<uint64_t>(round) * 37;
    char buf[4096];
    while (appended < kill_after) {
      const ssize_t n = ::read(fds[0], buf, sizeof(buf));
      ASSERT_GT(n, 0) << "child died early";
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        const std::string msg = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        (msg[0] == 'A' ? appended : consumed) = std::stoull(msg.substr(2));
      }
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    // Acks the child sent before it died.
    while (true) {
      const ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      pending.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      const std::string msg = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      (msg[0] == 'A' ? appended : consumed) = std::stoull(msg.substr(2));
    }

    auto spool = openSpool(dir.path());
    const std::string rest = drain(*spool);
    std::string all;
    for (uint64_t i = 0; i < appended + 1; ++i) {  // + 1: an append that finished unacked
      all += chunkOf(static_cast<int>(i), kLinesPerChunk);
    }
    // `rest` is whole lines of the stream, starting at a line at or after the acked cursor.
    ASSERT_FALSE(rest.empty());
    ASSERT_EQ(rest.back(), '\n');
    const size_t start = all.find(rest.substr(0, rest.find('\n') + 1));
    ASSERT_NE(start, std::string::npos);
    EXPECT_EQ(all.compare(start, rest.size(), rest), 0) << "round " << round;
    uint64_t start_line = 0;
    for (size_t i = 0; i < start; ++i) {
      start_line += all[i] == '\n' ? 1 : 0;
    }
    EXPECT_GE(start_line, consumed) << "re-read lines the cursor had passed";
    uint64_t end_line = start_line;
    for (char ch : rest) {
      end_line += ch == '\n' ? 1 : 0;
    }
    EXPECT_GE(end_line, appended * kLinesPerChunk) << "lost acknowledged lines";
  }
}

}  // namespace
}  // namespace nm::influx
