#pragma once
// A Sink test double that keeps what the pipeline hands it: summaries written since the last
// commit in `pending`, committed ones in `committed`. commit() fails while `fail` is set.

#include <chrono>
#include <string_view>
#include <vector>

#include "daemon/sink.h"

namespace nm::test {

class RecordingSink final : public Sink {
 public:
  std::string_view name() const override { return "recording"; }
  void write(const RecordSummary& s) override {
    pending.push_back(s);
    pending.back().record = nullptr;  // only valid during write()
  }
  bool commit() override {
    if (fail) {
      return false;
    }
    committed.insert(committed.end(), pending.begin(), pending.end());
    pending.clear();
    return true;
  }
  void finish(std::chrono::milliseconds) override { finished = true; }

  bool fail = false;
  bool finished = false;
  std::vector<RecordSummary> pending;
  std::vector<RecordSummary> committed;
};

}  // namespace nm::test
