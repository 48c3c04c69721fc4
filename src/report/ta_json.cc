#include <nlohmann/json.hpp>

#include "report/ta_record.h"

namespace nm {
namespace {

using Json = nlohmann::ordered_json;

Json chunkJson(const UpstreamChunk& c) {
  Json j;
  j["Len"] = c.len;
  j["Seq"] = c.seq;
  j["TsStart"] = c.ts_start;
  j["TsEnd"] = c.ts_end;
  j["LastPkt"] = c.last_pkt;
  j["DownPkts"] = c.down_pkts;
  j["DonwBytes"] = c.down_bytes;  // sic: the original key, kept for compatibility
  j["MaxDSeq"] = c.max_dseq;
  return j;
}

Json entryJson(const TaFlowEntry& e) {
  Json j;
  j["Meta"] = e.meta;
  j["Device"] = e.device;
  j["HwAddr"] = e.hw_addr;
  j["Flow"] = e.flow;
  j["Domain"] = e.domain;
  j["Proto"] = e.proto;
  j["LPort"] = std::to_string(e.lport);
  j["SIP"] = e.sip;
  j["SPort"] = std::to_string(e.sport);
  j["KbpsUp"] = e.kbps_up;
  j["KbpsDw"] = e.kbps_dw;
  j["PpsUp"] = e.pps_up;
  j["PpsDw"] = e.pps_dw;
  j["BytesUp"] = e.bytes_up;
  j["BytesDw"] = e.bytes_dw;
  j["PktsUp"] = e.pkts_up;
  j["PktsDw"] = e.pkts_dw;
  if (e.has_video_info) {
    Json chunks = Json::array();
    for (const UpstreamChunk& c : e.upstream_chunks) {
      chunks.push_back(chunkJson(c));
    }
    j["VideoInfo"] = Json{{"UpstreamChunks", std::move(chunks)}};
  } else {
    j["VideoInfo"] = nullptr;
  }
  j["VoIPInfo"] = nullptr;
  return j;
}

}  // namespace

std::string toJsonLine(const TaRecord& r) {
  Json j;
  j["Info"] = Json{{"Version", r.version},   {"Conf", r.conf},    {"Type", r.type},
                   {"TsStart", r.ts_start},  {"TsEnd", r.ts_end}, {"PktsRcvd", r.pkts_rcvd},
                   {"PktsDrop", r.pkts_drop}};
  j["CacheStats"] = Json{{"GenFlows", r.gen_flows},
                         {"VideoFlows", r.video_flows},
                         {"TCPVideoFlows", r.tcp_video_flows},
                         {"TCPFlows", r.tcp_flows},
                         {"GeneralCounters", r.general_counters},
                         {"VideoSegments", r.video_segments},
                         {"EvictedFlows", r.evicted_flows},
                         {"ExpiredFlows", r.expired_flows}};
  Json data = Json::array();
  for (const TaFlowEntry& e : r.data) {
    data.push_back(entryJson(e));
  }
  j["TrafficData"] = Json{{"Avg", r.avg}, {"Var", r.var}, {"Q50", r.q50},           {"Q75", r.q75},
                          {"Q90", r.q90}, {"Q95", r.q95}, {"Data", std::move(data)}};
  // Replacement instead of an exception: labels may later carry bytes from the wire.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace nm
