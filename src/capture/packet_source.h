#pragma once
// The capture stage's door: a PacketSource yields raw frames from a pcap/pcapng file or a
// live interface. One thread owns a source; it is not safe to share.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/net_types.h"

namespace nm {

// One captured frame. `data` points into the source's buffer and stays valid only until the
// next call to next() on the same source.
struct RawPacket {
  Timestamp ts = 0;      // packet time, ns since the epoch
  uint32_t caplen = 0;   // bytes available at data
  uint32_t wirelen = 0;  // original length on the wire (pcap header "len")
  int linktype = 0;      // DLT_* of the interface that captured it
  const uint8_t* data = nullptr;
};

enum class ReadStatus { kOk, kTimeout, kEof, kError };

struct CaptureStats {
  uint64_t received = 0;  // frames handed to us
  uint64_t dropped = 0;   // kernel + interface drops reported by libpcap (live only)
  uint64_t if_dropped = 0;
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // Fills `pkt` with the next frame. kTimeout only in live mode (no frame within the read
  // timeout); kEof at the end of a file; kError with error() describing it.
  virtual ReadStatus next(RawPacket& pkt) = 0;
  virtual CaptureStats stats() = 0;
  virtual std::string error() const = 0;
  // Ends a blocking live capture from a signal handler or another thread.
  virtual void breakLoop() = 0;
};

struct LiveOptions {
  std::string interface;
  std::string bpf_filter;  // empty = everything
  int snaplen = 65535;     // whole frames: DNS over TCP and TLS ClientHellos need them
  bool promiscuous = true;
  int timeout_ms = 200;         // read timeout, so windows close on an idle link
  int buffer_bytes = 32 << 20;  // kernel ring buffer
};

// Opens a capture file (pcap or pcapng, detected by content). nullptr and `error` set on failure.
std::unique_ptr<PacketSource> openCaptureFile(const std::string& path,
                                              const std::string& bpf_filter, std::string& error);
// Opens a live interface. nullptr and `error` set on failure.
std::unique_ptr<PacketSource> openLiveCapture(const LiveOptions& options, std::string& error);

}  // namespace nm
