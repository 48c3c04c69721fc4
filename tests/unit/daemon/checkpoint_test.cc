#include "daemon/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace nm {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nm_checkpoint_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/checkpoint.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::string path_;
};

TEST_F(CheckpointTest, MissingFileIsAFirstStart) {
  Checkpoint cp;
  cp.files.push_back({"stale", 1, 2, 3});
  std::string error;
  ASSERT_TRUE(loadCheckpoint(path_, cp, error)) << error;
  EXPECT_TRUE(cp.files.empty());
  EXPECT_TRUE(cp.summarizers.empty());
}

TEST_F(CheckpointTest, RoundTripsEveryField) {
  Checkpoint cp;
  cp.files.push_back({"/tmp/tmp.ta.123456789", 2049, 18446744073709551615ull, 987654321012});
  cp.files.push_back({"/tmp/with \"quote\" and ü", 7, 8, 0});
  SummarizerState st;
  st.has_previous = true;
  st.ts_end = 1598050390;
  st.pairs = {{"74:d0:2b:00:00:01", "Netflix"}, {"192.168.0.3", "a,b=c d\\e"}};
  cp.summarizers["home 1"] = st;
  cp.summarizers["other"] = SummarizerState{};
  std::string error;
  ASSERT_TRUE(saveCheckpoint(path_, cp, error)) << error;
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  Checkpoint back;
  ASSERT_TRUE(loadCheckpoint(path_, back, error)) << error;
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[0].path, cp.files[0].path);
  EXPECT_EQ(back.files[0].dev, 2049u);
  EXPECT_EQ(back.files[0].ino, 18446744073709551615ull);
  EXPECT_EQ(back.files[0].offset, 987654321012u);
  EXPECT_EQ(back.files[1].path, cp.files[1].path);
  ASSERT_EQ(back.summarizers.size(), 2u);
  const SummarizerState& h = back.summarizers.at("home 1");
  EXPECT_TRUE(h.has_previous);
  EXPECT_EQ(h.ts_end, 1598050390);
  EXPECT_EQ(h.pairs, st.pairs);
  EXPECT_FALSE(back.summarizers.at("other").has_previous);
}

TEST_F(CheckpointTest, SaveReplacesTheOldOne) {
  std::string error;
  Checkpoint a;
  a.files.push_back({"a", 1, 1, 10});
  ASSERT_TRUE(saveCheckpoint(path_, a, error));
  Checkpoint b;
  b.files.push_back({"a", 1, 1, 20});
  ASSERT_TRUE(saveCheckpoint(path_, b, error));
  Checkpoint back;
  ASSERT_TRUE(loadCheckpoint(path_, back, error));
  ASSERT_EQ(back.files.size(), 1u);
  EXPECT_EQ(back.files[0].offset, 20u);
}

TEST_F(CheckpointTest, DamagedFilesAreReportedNotGuessed) {
  for (const char* text : {"", "{", "[]", "{\"version\":2,\"files\":[],\"summarizers\":{}}",
                           "{\"version\":1,\"files\":[{\"path\":\"a\"}],\"summarizers\":{}}",
                           "{\"version\":1,\"files\":[],\"summarizers\":{\"x\":{\"ts_end\":1}}}"}) {
    std::ofstream(path_, std::ios::trunc) << text;
    Checkpoint cp;
    std::string error;
    EXPECT_FALSE(loadCheckpoint(path_, cp, error)) << text;
    EXPECT_NE(error.find(path_), std::string::npos) << error;
    EXPECT_TRUE(cp.files.empty());
  }
}

TEST_F(CheckpointTest, UnwritableDirectoryFailsAndKeepsNothingHalfWritten) {
  Checkpoint cp;
  std::string error;
  EXPECT_FALSE(saveCheckpoint(dir_ + "/missing/checkpoint.json", cp, error));
  EXPECT_NE(error.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace nm
