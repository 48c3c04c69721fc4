#pragma once
// Shared by the exinfo tests: a fixture whose suite writes the test databases
// (write_test_mmdb.pl, NM_EXINFO_MMDB_WRITER) into a TempDir once per test binary run and skips
// loudly when Debian's libmaxmind-db-writer-perl is missing.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "support/temp_dir.h"

namespace nm::test {

class GeneratedMmdbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    if (std::system("perl -MMaxMind::DB::Writer::Tree -e 1 >/dev/null 2>&1") != 0) {
      skip_reason_ =
          "MaxMind::DB::Writer::Tree is not installed (apt-get install "
          "libmaxmind-db-writer-perl): the generated-database tests cannot run";
      std::cerr << "*** SKIPPING the generated-database tests: " << skip_reason_ << "\n";
      return;
    }
    if (dir_->path().empty()) {
      setup_error_ = "mkdtemp failed";
      return;
    }
    const std::string cmd =
        std::string("perl '") + NM_EXINFO_MMDB_WRITER + "' '" + dir_->path() + "'";
    if (std::system(cmd.c_str()) != 0) {
      setup_error_ = "write_test_mmdb.pl failed: " + cmd;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!skip_reason_.empty()) {
      GTEST_SKIP() << skip_reason_;
    }
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static std::string file(const char* name) { return dir_->path() + "/" + name; }

  inline static TempDir* dir_ = nullptr;
  inline static std::string skip_reason_;
  inline static std::string setup_error_;
};

}  // namespace nm::test
