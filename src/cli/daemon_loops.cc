#include "cli/daemon_loops.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "daemon/checkpoint.h"
#include "daemon/ta_tailer.h"

namespace nm::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Commits and checkpoints; the unit of durability the loops share.
class Committer {
 public:
  Committer(const LoopContext& ctx, Pipeline& pipeline)
      : ctx_(ctx),
        pipeline_(pipeline),
        interval_(std::chrono::milliseconds(ctx.config.daemon.commit_interval_ms)),
        last_(Clock::now()) {}

  // Commits when due (interval elapsed, many records waiting, or `force`). true when everything
  // read so far is durable; `files` are saved with the summarizers' state.
  bool maybeCommit(bool force, const std::vector<TaFilePosition>* files) {
    const bool due = force || pipeline_.uncommittedRecords() >= kMaxUncommitted ||
                     Clock::now() - last_ >= interval_;
    if (!due || (!dirty_ && pipeline_.uncommittedRecords() == 0)) {
      return !dirty_ && pipeline_.uncommittedRecords() == 0;
    }
    last_ = Clock::now();
    const uint64_t records = pipeline_.uncommittedRecords();
    if (!pipeline_.commit()) {
      return false;
    }
    // The original logged OK after each accepted InfluxDB write (the InfluxDB sink still does,
    // per delivered batch); without InfluxDB the store's commit is the accepted write.
    if (records > 0 && !ctx_.config.influx.enabled) {
      spdlog::info("OK");
    }
    if (!ctx_.checkpoint_path.empty()) {
      Checkpoint cp;
      if (files != nullptr) {
        cp.files = *files;
      }
      cp.summarizers = pipeline_.summarizerStates();
      std::string error;
      if (!saveCheckpoint(ctx_.checkpoint_path, cp, error)) {
        spdlog::error("checkpoint: {}", error);  // data is durable; a restart replays a little
      }
    }
    dirty_ = false;
    return true;
  }
  // Input moved without producing records (bad lines): the checkpoint must still advance.
  void markDirty() { dirty_ = true; }
  Clock::duration interval() const { return interval_; }

  static constexpr uint64_t kMaxUncommitted = 500;

 private:
  const LoopContext& ctx_;
  Pipeline& pipeline_;
  Clock::duration interval_;
  Clock::time_point last_;
  bool dirty_ = false;
};

bool loadResumeState(const LoopContext& ctx, Checkpoint& cp) {
  if (ctx.checkpoint_path.empty()) {
    return true;
  }
  std::string error;
  if (!loadCheckpoint(ctx.checkpoint_path, cp, error)) {
    spdlog::error("{} (move it away to start from scratch)", error);
    return false;
  }
  if (!cp.files.empty() || !cp.summarizers.empty()) {
    spdlog::info("resuming from {}: {} file(s), {} stream(s)", ctx.checkpoint_path, cp.files.size(),
                 cp.summarizers.size());
  }
  return true;
}

TaTailerOptions tailerOptions(const LoopContext& ctx) {
  TaTailerOptions o;
  o.glob = ctx.ta_file.empty() ? ctx.config.daemon.ta_glob : ctx.ta_file;
  o.single_file = !ctx.ta_file.empty();
  return o;
}

// Final flush after a stop request or the end of --once input: commit until it succeeds or the
// grace period ends, then let sinks deliver what they can.
int shutdown(const LoopContext& ctx, Pipeline& pipeline, Committer& committer,
             const std::function<std::vector<TaFilePosition>()>& files) {
  const auto end = Clock::now() + std::chrono::seconds(10);
  bool durable = false;
  while (true) {
    const std::vector<TaFilePosition> f = files();
    durable = committer.maybeCommit(true, &f);
    if (durable || Clock::now() >= end) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!durable) {
    spdlog::error("stopping with uncommitted records; they are replayed at the next start");
  }
  pipeline.finish(std::chrono::seconds(ctx.once ? 60 : 10));
  spdlog::info("netmicroscope daemon stopped");
  return durable ? 0 : 1;
}

}  // namespace

int runStandalone(const LoopContext& ctx, Pipeline& pipeline) {
  Checkpoint cp;
  if (!loadResumeState(ctx, cp)) {
    return 1;
  }
  pipeline.restoreSummarizers(cp.summarizers);
  TaTailer tailer(tailerOptions(ctx), ctx.metrics);
  tailer.restore(cp.files);
  spdlog::info("TAHandler {} is running.", tailerOptions(ctx).glob);

  Committer committer(ctx, pipeline);
  bool blocked = false;  // a sink cannot commit: stop reading until it can
  while (!ctx.stop.load()) {
    size_t lines = 0;
    if (!blocked) {
      lines = tailer.poll(
          [&](const TaLine& line) {
            if (line.too_long) {
              pipeline.countTooLong();
            } else {
              pipeline.ingestLine(line.text);
            }
          },
          1000);
      if (lines > 0) {
        committer.markDirty();
      }
    }
    const bool at_end = ctx.once && tailer.caughtUp();
    const std::vector<TaFilePosition> files = tailer.positions();
    const bool durable = committer.maybeCommit(blocked || at_end, &files);
    blocked = !durable && pipeline.uncommittedRecords() >= Committer::kMaxUncommitted;
    if (at_end && durable) {
      break;
    }
    if (lines == 0 || blocked) {
      std::this_thread::sleep_for(std::chrono::milliseconds(blocked ? 500 : 100));
    }
  }
  return shutdown(ctx, pipeline, committer, [&] { return tailer.positions(); });
}

}  // namespace nm::cli
