#include "preloaded_capture.h"

#include <cstdlib>
#include <memory>
#include <string>

namespace nm::bench {

std::string benchCapturePath() {
  const char* env = std::getenv("NM_BENCH_PCAP");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return NM_BENCH_DEFAULT_PCAP;
}

bool preloadCapture(const std::string& path, PreloadedCapture& out, std::string& error) {
  std::unique_ptr<PacketSource> source = openCaptureFile(path, "", error);
  if (source == nullptr) {
    error = path + ": " + error;
    return false;
  }
  out = PreloadedCapture{};
  out.path = path;
  // The byte buffer grows while reading, so offsets are kept first and turned into pointers
  // once it stops moving.
  std::vector<size_t> offsets;
  RawPacket pkt;
  ReadStatus status;
  while ((status = source->next(pkt)) == ReadStatus::kOk) {
    offsets.push_back(out.bytes.size());
    out.bytes.insert(out.bytes.end(), pkt.data, pkt.data + pkt.caplen);
    out.cap_bytes += pkt.caplen;
    out.wire_bytes += pkt.wirelen;
    pkt.data = nullptr;
    out.packets.push_back(pkt);
  }
  if (status != ReadStatus::kEof) {
    error = path + ": " + source->error();
    return false;
  }
  if (out.packets.empty()) {
    error = path + ": no packets";
    return false;
  }
  for (size_t i = 0; i < out.packets.size(); ++i) {
    out.packets[i].data = out.bytes.data() + offsets[i];
  }
  return true;
}

}  // namespace nm::bench
