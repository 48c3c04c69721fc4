#pragma once
// A human summary of a probe run: traffic per device and per remote endpoint, printed at exit.

#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include "report/window_reporter.h"

namespace nm::cli {

// Forwards every record to `next` and keeps totals for print().
class SummarySink final : public TaRecordSink {
 public:
  explicit SummarySink(TaRecordSink& next) : next_(next) {}
  void write(const TaRecord& record) override;
  void print(FILE* out, size_t top_n) const;

 private:
  struct Totals {
    uint64_t bytes_up = 0;
    uint64_t bytes_dw = 0;
    uint64_t pkts = 0;
    int64_t first = 0;
    int64_t last = 0;
  };
  // (device, hw_addr), (device, application) and (device, proto, remote ip, remote port, app)
  using DeviceKey = std::tuple<std::string, std::string>;
  using ApplicationKey = std::tuple<std::string, std::string>;
  using EndpointKey = std::tuple<std::string, std::string, std::string, uint16_t, std::string>;

  TaRecordSink& next_;
  std::map<DeviceKey, Totals> devices_;
  std::map<ApplicationKey, Totals> applications_;
  std::map<EndpointKey, Totals> endpoints_;
};

}  // namespace nm::cli
