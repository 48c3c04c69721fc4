#pragma once
// A capture file read once into memory, so decode and flow benchmarks measure the stage and not
// libpcap or the page cache. Shared by micro_bench and flow_bench; not part of the product.

#include <cstdint>
#include <string>
#include <vector>

#include "capture/packet_source.h"

namespace nm::bench {

// Every frame of one capture file. packets[i].data points into `bytes`, so the object must not
// be copied after load (it is move-only) and the views live as long as it does.
struct PreloadedCapture {
  PreloadedCapture() = default;
  PreloadedCapture(const PreloadedCapture&) = delete;
  PreloadedCapture& operator=(const PreloadedCapture&) = delete;
  PreloadedCapture(PreloadedCapture&&) = default;
  PreloadedCapture& operator=(PreloadedCapture&&) = default;

  std::string path;
  std::vector<uint8_t> bytes;      // all captured bytes, frame after frame
  std::vector<RawPacket> packets;  // in file order
  uint64_t cap_bytes = 0;          // sum of caplen
  uint64_t wire_bytes = 0;         // sum of wirelen
};

// The capture the benchmarks read: $NM_BENCH_PCAP when set and non-empty, else the corpus
// default compiled in (${NM_CORPUS_DIR}/ndpi/netflix.pcap).
std::string benchCapturePath();

// Reads every frame of `path` through nm::openCaptureFile. False and `error` set when the file
// cannot be opened or read, or holds no packets.
bool preloadCapture(const std::string& path, PreloadedCapture& out, std::string& error);

}  // namespace nm::bench
