#include "cli/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace nm::cli {
namespace {

template <typename Totals>
void add(Totals& t, const TaFlowEntry& e, const TaRecord& r) {
  if (t.pkts == 0) {
    t.first = r.ts_start;
  }
  t.bytes_up += e.bytes_up;
  t.bytes_dw += e.bytes_dw;
  t.pkts += e.pkts_up + e.pkts_dw;
  t.last = r.ts_end;
}

// Average rate over the span of windows in which the pair was active.
double kbps(uint64_t bytes, int64_t first, int64_t last) {
  const int64_t span = std::max<int64_t>(last - first, 1);
  return static_cast<double>(bytes * 8) / (1000.0 * static_cast<double>(span));
}

template <typename Map>
std::vector<typename Map::const_iterator> topByBytes(const Map& m, size_t n) {
  std::vector<typename Map::const_iterator> v;
  for (auto it = m.begin(); it != m.end(); ++it) {
    v.push_back(it);
  }
  std::stable_sort(v.begin(), v.end(), [](auto a, auto b) {
    return a->second.bytes_up + a->second.bytes_dw > b->second.bytes_up + b->second.bytes_dw;
  });
  if (v.size() > n) {
    v.resize(n);
  }
  return v;
}

}  // namespace

void SummarySink::write(const TaRecord& record) {
  for (const TaFlowEntry& e : record.data) {
    const std::string device = e.device.toString();
    add(devices_[{device, e.has_hw_addr ? e.hw_addr.toString() : ""}], e, record);
    // A device is its MAC when the link layer has one (its IPv4 and IPv6 traffic together), as
    // the daemon's summary counts it.
    add(applications_[{e.has_hw_addr ? e.hw_addr.toString() : device, e.meta}], e, record);
    add(endpoints_[{device, ipProtoName(e.proto), e.sip.toString(), e.sport, e.meta}], e, record);
  }
  next_.write(record);
}

void SummarySink::print(FILE* out, size_t top_n) const {
  std::fprintf(out, "\n  %-50s %9s %10s %8s\n", "Devices (local side)", "up kB", "down kB",
               "packets");
  for (auto it : topByBytes(devices_, top_n)) {
    const auto& [device, hw] = it->first;
    const std::string name = hw.empty() ? device : device + " (" + hw + ")";
    std::fprintf(out, "  %-50s %9.1f %10.1f %8llu\n", name.c_str(),
                 static_cast<double>(it->second.bytes_up) / 1e3,
                 static_cast<double>(it->second.bytes_dw) / 1e3,
                 static_cast<unsigned long long>(it->second.pkts));
  }
  std::fprintf(out, "\n  %-50s %9s %10s %12s\n", "Applications per device (MAC, else IP)", "up kB",
               "down kB", "down kbit/s");
  for (auto it : topByBytes(applications_, top_n)) {
    const auto& [device, app] = it->first;
    const std::string name = fmt::format("{} -> {}", device, app);
    std::fprintf(out, "  %-50s %9.1f %10.1f %12.1f\n", name.c_str(),
                 static_cast<double>(it->second.bytes_up) / 1e3,
                 static_cast<double>(it->second.bytes_dw) / 1e3,
                 kbps(it->second.bytes_dw, it->second.first, it->second.last));
  }
  std::fprintf(out, "\n  %-58s %9s %10s %12s\n", "Top remote endpoints", "up kB", "down kB",
               "down kbit/s");
  for (auto it : topByBytes(endpoints_, top_n)) {
    const auto& [device, proto, sip, sport, app] = it->first;
    const bool has_ports = proto == "tcp" || proto == "udp";
    const std::string pair =
        has_ports ? fmt::format("{} -> {} {}/{} ({})", device, sip, proto, sport, app)
                  : fmt::format("{} -> {} {} ({})", device, sip, proto, app);
    std::fprintf(out, "  %-58s %9.1f %10.1f %12.1f\n", pair.c_str(),
                 static_cast<double>(it->second.bytes_up) / 1e3,
                 static_cast<double>(it->second.bytes_dw) / 1e3,
                 kbps(it->second.bytes_dw, it->second.first, it->second.last));
  }
}

}  // namespace nm::cli
