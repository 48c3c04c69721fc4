#pragma once
// The report stage's door: WindowReporter cuts packet time into fixed windows aligned to
// multiples of the window length and turns each window's flows into one TaRecord.
// Single-threaded, driven by the capture loop; it never reads a clock itself.

#include <cstdint>
#include <functional>
#include <vector>

#include "flow/flow_table.h"
#include "report/ta_record.h"

namespace nm {

class TaRecordSink {
 public:
  virtual ~TaRecordSink() = default;
  // Called once per window that saw traffic, in window order.
  virtual void write(const TaRecord& record) = 0;
};

struct ReportConfig {
  int64_t window_seconds = 5;
};

class WindowReporter final : public EvictionListener {
 public:
  // `table` and `sink` must outlive the reporter; the reporter registers itself as the table's
  // eviction listener so flows removed mid-window still appear in their window.
  WindowReporter(ReportConfig config, FlowTable& table, TaRecordSink& sink);

  // Cumulative capture drops, read when a window closes (live captures).
  void setDropCounter(std::function<uint64_t()> drops) { drops_ = std::move(drops); }

  // Moves the clock to `ts` (packet or, on an idle live link, wall time): closes the current
  // window if `ts` lies past its end. Time that goes backwards stays in the current window.
  void advanceTo(Timestamp ts) {
    if (!started_ || ts >= window_end_) {  // inline: the common case is "same window"
      startWindowAt(ts);
    }
  }
  // Counts one received frame (decoded or not) in the current window.
  void countFrame() { ++frames_in_window_; }
  // Closes the open window, if any. Call at the end of a capture.
  void finish();

  uint64_t recordsWritten() const { return records_written_; }

  void onFlowRemoved(Flow& flow) override;

 private:
  void startWindowAt(Timestamp ts);
  void closeWindow();
  TaFlowEntry& nextEntry();
  void fillEntry(const Flow& flow, TaFlowEntry& e) const;

  ReportConfig config_;
  FlowTable& table_;
  TaRecordSink& sink_;
  std::function<uint64_t()> drops_;
  bool started_ = false;
  Timestamp window_start_ = 0;
  Timestamp window_end_ = 0;
  uint64_t frames_in_window_ = 0;
  uint64_t drops_reported_ = 0;
  uint64_t records_written_ = 0;
  uint64_t expired_seen_ = 0;
  uint64_t evicted_seen_ = 0;
  // The open window's record, reused from window to window; entries_used_ of its entries are
  // filled (flows removed while the window was open come first).
  TaRecord record_;
  size_t entries_used_ = 0;
  std::vector<double> kbps_scratch_;
};

}  // namespace nm
