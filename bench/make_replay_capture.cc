// make_replay_capture: builds the one big input bench/replay.sh replays through every tool.
//
//   make_replay_capture [--min-packets N] [--same-flows] [--original-times] OUT FILE...
//
// Reads every FILE (pcap or pcapng) whose link type is Ethernet, skips the others (listed on
// stderr), and writes their frames, file after file, to OUT as one nanosecond pcap, repeated
// until OUT holds at least N packets (default 1,000,000).
//
// Copy k (k = 0, 1, ...) is written as captured for k = 0. For k > 0 every outer IPv4 address has
// k added to its third byte and every outer IPv6 address to its sixth byte (the IPv4 header
// checksum is recomputed; TCP/UDP checksums are left as they are, nobody on the replay path checks
// them), so each copy is new traffic to a flow table and a DPI engine instead of more packets of
// flows already classified. The changed bytes lie past the bits that make an address private,
// link-local, ULA or multicast, so a device stays local and a service stays remote. Tunnelled
// inner headers are not changed. --same-flows writes plain copies instead.
//
// Packet times are laid on one timeline, as a live probe would see the files replayed one after
// another: each file starts 1 s after the previous one ended and keeps the gaps between its
// packets, except that time never goes backwards and a gap over a second shrinks to a second, as
// on a busy link where other traffic fills the pauses (the
// corpus has zeroed clocks, files spanning years and files out of time order, which would
// otherwise pile whole copies into one reporting window). --original-times keeps them as
// captured.
//
// Prints one JSON line: files used and skipped, packets per copy, copies, packets, bytes.

#include <pcap/pcap.h>

#include <algorithm>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "preloaded_capture.h"

namespace {

constexpr int kDltEthernet = 1;  // DLT_EN10MB
constexpr uint32_t kSnaplen = 262144;

uint16_t readBe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

void ipv4HeaderChecksum(uint8_t* ip, size_t header_len) {
  ip[10] = 0;
  ip[11] = 0;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < header_len; i += 2) {
    sum += readBe16(ip + i);
  }
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  const auto checksum = static_cast<uint16_t>(~sum);
  ip[10] = static_cast<uint8_t>(checksum >> 8);
  ip[11] = static_cast<uint8_t>(checksum & 0xff);
}

// Shifts the outer IP addresses of one Ethernet frame for copy `copy` (see the file comment).
// Frames that are too short, not IP, or behind a header we do not walk (PPPoE, MPLS) are left.
void shiftAddresses(uint8_t* frame, uint32_t caplen, uint8_t copy) {
  size_t offset = 12;
  if (caplen < offset + 2) {
    return;
  }
  uint16_t ether_type = readBe16(frame + offset);
  while (ether_type == 0x8100 || ether_type == 0x88a8 || ether_type == 0x9100) {
    offset += 4;
    if (caplen < offset + 2) {
      return;
    }
    ether_type = readBe16(frame + offset);
  }
  uint8_t* ip = frame + offset + 2;
  const size_t ip_caplen = caplen - (offset + 2);
  if (ether_type == 0x0800 && ip_caplen >= 20 && (ip[0] >> 4) == 4) {
    ip[12 + 2] = static_cast<uint8_t>(ip[12 + 2] + copy);
    ip[16 + 2] = static_cast<uint8_t>(ip[16 + 2] + copy);
    const size_t header_len = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if (header_len >= 20 && header_len <= ip_caplen) {
      ipv4HeaderChecksum(ip, header_len);
    }
  } else if (ether_type == 0x86dd && ip_caplen >= 40 && (ip[0] >> 4) == 6) {
    ip[8 + 5] = static_cast<uint8_t>(ip[8 + 5] + copy);
    ip[24 + 5] = static_cast<uint8_t>(ip[24 + 5] + copy);
  }
}

int usage(const char* argv0) {
  std::fprintf(
      stderr, "usage: %s [--min-packets N] [--same-flows] [--original-times] OUT FILE...\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t min_packets = 1'000'000;
  bool same_flows = false;
  bool original_times = false;
  int arg = 1;
  for (; arg < argc && std::strncmp(argv[arg], "--", 2) == 0; ++arg) {
    if (std::strcmp(argv[arg], "--min-packets") == 0 && arg + 1 < argc) {
      min_packets = std::strtoull(argv[++arg], nullptr, 10);
    } else if (std::strcmp(argv[arg], "--same-flows") == 0) {
      same_flows = true;
    } else if (std::strcmp(argv[arg], "--original-times") == 0) {
      original_times = true;
    } else {
      return usage(argv[0]);
    }
  }
  if (argc - arg < 2) {
    return usage(argv[0]);
  }
  const char* out_path = argv[arg++];

  std::vector<nm::bench::PreloadedCapture> captures;
  uint64_t packets_per_copy = 0;
  uint64_t bytes_per_copy = 0;
  int skipped = 0;
  for (; arg < argc; ++arg) {
    nm::bench::PreloadedCapture capture;
    std::string error;
    if (!nm::bench::preloadCapture(argv[arg], capture, error)) {
      std::fprintf(stderr, "skipped %s\n", error.c_str());
      ++skipped;
      continue;
    }
    if (capture.packets.front().linktype != kDltEthernet) {
      std::fprintf(stderr, "skipped %s: link type %d is not Ethernet\n", argv[arg],
                   capture.packets.front().linktype);
      ++skipped;
      continue;
    }
    packets_per_copy += capture.packets.size();
    bytes_per_copy += capture.cap_bytes;
    captures.push_back(std::move(capture));
  }
  if (packets_per_copy == 0) {
    std::fprintf(stderr, "no Ethernet packets in the input files\n");
    return 1;
  }
  const uint64_t copies = (min_packets + packets_per_copy - 1) / packets_per_copy;
  if (!same_flows && copies > 256) {
    std::fprintf(stderr, "%" PRIu64 " copies: at most 256 have distinct addresses\n", copies);
    return 1;
  }

  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(kDltEthernet, kSnaplen, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* dumper = dead == nullptr ? nullptr : pcap_dump_open(dead, out_path);
  if (dumper == nullptr) {
    std::fprintf(stderr, "%s: %s\n", out_path,
                 dead == nullptr ? "pcap_open_dead failed" : pcap_geterr(dead));
    return 1;
  }
  std::vector<uint8_t> frame;
  nm::Timestamp clock = 1'700'000'000 * nm::kNanosPerSecond;  // the replay timeline
  for (uint64_t copy = 0; copy < copies; ++copy) {
    for (const nm::bench::PreloadedCapture& capture : captures) {
      constexpr nm::Timestamp kMaxGap = nm::kNanosPerSecond;
      nm::Timestamp previous = capture.packets.front().ts;
      clock += nm::kNanosPerSecond;
      for (const nm::RawPacket& pkt : capture.packets) {
        nm::Timestamp ts = pkt.ts;
        if (!original_times) {
          clock += std::clamp<nm::Timestamp>(pkt.ts - previous, 0, kMaxGap);
          previous = pkt.ts;
          ts = clock;
        }
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = static_cast<time_t>(ts / nm::kNanosPerSecond);
        hdr.ts.tv_usec = static_cast<suseconds_t>(ts % nm::kNanosPerSecond);
        if (hdr.ts.tv_usec < 0) {  // packet times before 1970
          hdr.ts.tv_sec -= 1;
          hdr.ts.tv_usec += static_cast<suseconds_t>(nm::kNanosPerSecond);
        }
        hdr.caplen = pkt.caplen;
        hdr.len = pkt.wirelen;
        const uint8_t* data = pkt.data;
        if (copy > 0 && !same_flows) {
          frame.assign(pkt.data, pkt.data + pkt.caplen);
          shiftAddresses(frame.data(), pkt.caplen, static_cast<uint8_t>(copy));
          data = frame.data();
        }
        pcap_dump(reinterpret_cast<u_char*>(dumper), &hdr, data);
      }
    }
  }
  const bool write_ok = pcap_dump_flush(dumper) == 0 && std::ferror(pcap_dump_file(dumper)) == 0;
  pcap_dump_close(dumper);
  pcap_close(dead);
  if (!write_ok) {
    std::fprintf(stderr, "%s: write failed\n", out_path);
    return 1;
  }
  std::printf(
      "{\"out\":\"%s\",\"files\":%zu,\"skipped\":%d,\"mode\":\"%s\",\"packets_per_copy\":%" PRIu64
      ",\"copies\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"cap_bytes\":%" PRIu64 "}\n",
      out_path, captures.size(), skipped, same_flows ? "same-flows" : "distinct", packets_per_copy,
      copies, packets_per_copy * copies, bytes_per_copy * copies);
  return 0;
}
