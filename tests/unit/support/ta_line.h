#pragma once
// One TA line (the probe's JSON record) for daemon and plugin tests: every (device IP, Meta) pair
// one flow to 8.8.8.8:443 with fixed counters and KbpsDw `dw`.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nm::test {

inline std::string taLine(int64_t ts_end,
                          const std::vector<std::pair<std::string, std::string>>& pairs,
                          double dw = 1.5) {
  std::string data;
  int port = 40000;
  for (const auto& [ip, meta] : pairs) {
    if (!data.empty()) {
      data += ",";
    }
    const std::string p = std::to_string(port++);
    data += R"({"Meta":")" + meta + R"(","Device":")" + ip + R"(","HwAddr":"","Flow":"f)" + p +
            R"(","Domain":"","Proto":"tcp","LPort":")" + p +
            R"(","SIP":"8.8.8.8","SPort":"443","KbpsUp":0.5,"KbpsDw":)" + std::to_string(dw) +
            R"(,"PpsUp":1,"PpsDw":2,"BytesUp":100,"BytesDw":900,"PktsUp":3,"PktsDw":4})";
  }
  return R"({"Info":{"TsStart":)" + std::to_string(ts_end - 5) + R"(,"TsEnd":)" +
         std::to_string(ts_end) + R"(},"TrafficData":{"Data":[)" + data + "]}}";
}

}  // namespace nm::test
