// pcap_read_loop: the ceiling every replay benchmark is measured against.
//
// A bare libpcap pcap_next_ex() loop that touches only the record header (count, caplen, len)
// and never the packet bytes. No project code: whatever the probe does per packet comes on top
// of this, so "probe packets/s / pcap_read_loop packets/s" is the share of the ceiling we reach.
//
//   pcap_read_loop FILE...
//
// Prints one JSON line on stdout for all files together:
//   {"tool":"pcap_read_loop","files":1,"packets":N,"cap_bytes":N,"wire_bytes":N,"seconds":S,
//    "user_seconds":S,"sys_seconds":S,"pps":X,"gbps":X}
// gbps is on-wire bytes (the pcap header's len) * 8 / seconds / 1e9. Exit status 1 when a file
// cannot be opened or read.

#include <pcap/pcap.h>
#include <sys/resource.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>

namespace {

struct LoopTotals {
  uint64_t packets = 0;
  uint64_t cap_bytes = 0;
  uint64_t wire_bytes = 0;
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Reads one file to its end. Nanosecond precision is asked for because nm::openCaptureFile asks
// for it too: the ceiling pays the same timestamp scaling the product does.
bool readFile(const char* path, LoopTotals& totals) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    std::fprintf(stderr, "pcap_read_loop: %s: %s\n", path, errbuf);
    return false;
  }
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(handle, &hdr, &data)) == 1) {
    ++totals.packets;
    totals.cap_bytes += hdr->caplen;
    totals.wire_bytes += hdr->len;
  }
  const bool ok = rc == PCAP_ERROR_BREAK;
  if (!ok) {
    std::fprintf(stderr, "pcap_read_loop: %s: %s\n", path, pcap_geterr(handle));
  }
  pcap_close(handle);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
    return 2;
  }
  LoopTotals totals;
  bool ok = true;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i < argc; ++i) {
    ok = readFile(argv[i], totals) && ok;
  }
  const auto stop = std::chrono::steady_clock::now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  const double elapsed = std::chrono::duration<double>(stop - start).count();
  const double pps = elapsed > 0 ? static_cast<double>(totals.packets) / elapsed : 0.0;
  const double gbps =
      elapsed > 0 ? static_cast<double>(totals.wire_bytes) * 8 / elapsed / 1e9 : 0.0;
  std::printf(
      "{\"tool\":\"pcap_read_loop\",\"files\":%d,\"packets\":%" PRIu64 ",\"cap_bytes\":%" PRIu64
      ",\"wire_bytes\":%" PRIu64
      ",\"seconds\":%.6f,\"user_seconds\":%.3f,\"sys_seconds\":%.3f,\"pps\":%.0f,\"gbps\":%.3f}\n",
      argc - 1, totals.packets, totals.cap_bytes, totals.wire_bytes, elapsed,
      seconds(usage.ru_utime), seconds(usage.ru_stime), pps, gbps);
  return ok ? 0 : 1;
}
