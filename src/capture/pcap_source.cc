#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "capture/packet_source.h"

namespace nm {
namespace {

// Nanosecond precision is requested for files and live captures alike, so timestamps keep
// whatever resolution the source has.
class PcapSource final : public PacketSource {
 public:
  PcapSource(pcap_t* handle, bool live) : handle_(handle), live_(live) {
    linktype_ = pcap_datalink(handle_);
    // A live interface may refuse nanosecond precision; then tv_usec holds microseconds.
    subsecond_scale_ = pcap_get_tstamp_precision(handle_) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
  }
  ~PcapSource() override { pcap_close(handle_); }

  ReadStatus next(RawPacket& pkt) override {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == 1) {
      ++received_;
      pkt.ts = static_cast<Timestamp>(hdr->ts.tv_sec) * kNanosPerSecond +
               static_cast<Timestamp>(hdr->ts.tv_usec) * subsecond_scale_;
      pkt.caplen = hdr->caplen;
      pkt.wirelen = hdr->len;
      pkt.linktype = linktype_;
      pkt.data = data;
      return ReadStatus::kOk;
    }
    if (rc == 0) {
      return ReadStatus::kTimeout;
    }
    // PCAP_ERROR_BREAK is the end of a savefile, or breakLoop() on a live capture.
    if (rc == PCAP_ERROR_BREAK) {
      return ReadStatus::kEof;
    }
    error_ = pcap_geterr(handle_);
    return ReadStatus::kError;
  }

  CaptureStats stats() override {
    CaptureStats s;
    s.received = received_;
    if (live_) {
      pcap_stat ps{};
      if (pcap_stats(handle_, &ps) == 0) {
        s.dropped = ps.ps_drop;
        s.if_dropped = ps.ps_ifdrop;
      }
    }
    return s;
  }

  std::string error() const override { return error_; }
  void breakLoop() override { pcap_breakloop(handle_); }

 private:
  pcap_t* handle_;
  bool live_;
  int linktype_ = 0;
  Timestamp subsecond_scale_ = 1;
  uint64_t received_ = 0;
  std::string error_;
};

bool applyFilter(pcap_t* handle, const std::string& filter, std::string& error) {
  if (filter.empty()) {
    return true;
  }
  bpf_program program{};
  if (pcap_compile(handle, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
      pcap_setfilter(handle, &program) != 0) {
    error = "bad filter '" + filter + "': " + pcap_geterr(handle);
    pcap_freecode(&program);
    return false;
  }
  pcap_freecode(&program);
  return true;
}

}  // namespace

std::unique_ptr<PacketSource> openCaptureFile(const std::string& path,
                                              const std::string& bpf_filter, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    error = errbuf;
    return nullptr;
  }
  if (!applyFilter(handle, bpf_filter, error)) {
    pcap_close(handle);
    return nullptr;
  }
  return std::make_unique<PcapSource>(handle, false);
}

std::unique_ptr<PacketSource> openLiveCapture(const LiveOptions& options, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(options.interface.c_str(), errbuf);
  if (handle == nullptr) {
    error = errbuf;
    return nullptr;
  }
  pcap_set_snaplen(handle, options.snaplen);
  pcap_set_promisc(handle, options.promiscuous ? 1 : 0);
  pcap_set_timeout(handle, options.timeout_ms);
  pcap_set_buffer_size(handle, options.buffer_bytes);
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(handle);
  if (rc < 0) {
    error = options.interface + ": " + pcap_statustostr(rc) + " (" + pcap_geterr(handle) + ")";
    pcap_close(handle);
    return nullptr;
  }
  if (!applyFilter(handle, options.bpf_filter, error)) {
    pcap_close(handle);
    return nullptr;
  }
  return std::make_unique<PcapSource>(handle, true);
}

}  // namespace nm
