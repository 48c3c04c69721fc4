#include "classify/classifier.h"

#include <absl/container/flat_hash_map.h>

#include <array>
#include <span>
#include <vector>

#include "classify/dns/dns_message.h"
#include "classify/dns_cache.h"
#include "classify/http/http_host.h"
#include "classify/ndpi/ndpi_engine.h"
#include "classify/quic/gquic.h"
#include "classify/quic/quic_initial.h"
#include "classify/signatures/signatures.h"
#include "classify/string_pool.h"
#include "classify/tls/client_hello.h"
#include "classify/tls/server_certificate.h"

namespace nm {
namespace {

constexpr size_t kMaxStreamBytes = 16 * 1024;  // a ClientHello or an HTTP header block
constexpr size_t kMaxPendingSegments = 8;
constexpr uint16_t kDnsPort = 53;
constexpr uint8_t kMaxQuicFailures = 3;

bool isDns(const DecodedPacket& pkt) {
  return pkt.has_l4 && (pkt.src_port == kDnsPort || pkt.dst_port == kDnsPort) &&
         (pkt.l4_proto == ipproto::kUdp || pkt.l4_proto == ipproto::kTcp);
}

std::span<const uint8_t> payloadOf(const DecodedPacket& pkt) {
  return {pkt.payload, pkt.payload_caplen};
}

// One direction of a TCP connection, in sequence order from its first byte (bounded).
struct TcpStream {
  std::string bytes;
  std::vector<std::pair<uint32_t, std::string>> pending;  // segments that arrived early
  uint32_t next_seq = 0;
  bool seq_known = false;
};

// What a flow has shown so far, until it is decided and nDPI is done.
struct ClassifyState final : FlowAnalysis {
  TcpStream up;    // client -> server: TLS ClientHello, HTTP request
  TcpStream down;  // server -> client: the TLS certificate when the ClientHello had no SNI
  bool stream_done = false;  // nothing more to learn from the streams
  bool want_certificate = false;
  std::vector<std::string> certificate_names;
  std::unique_ptr<QuicInitialReassembler> quic;
  bool quic_done = false;
  uint8_t quic_failures = 0;  // each costs a key derivation: give up after a few
  std::unique_ptr<NdpiFlow> ndpi;
  bool ndpi_done = true;
  uint16_t packets = 0;
  // Evidence so far.
  const std::string* sni = nullptr;
  Evidence sni_evidence = Evidence::kNone;
  const std::string* host = nullptr;
  const std::string* dns_name = nullptr;
  Evidence dns_evidence = Evidence::kNone;
  int prefix_service = -1;
  int signature_service = -1;
  int socket_service = -1;
  uint16_t payload_packets = 0;
};

// A local UDP socket that spoke an identified protocol: calling apps use one socket for their
// STUN exchange with a relay and for the media to each peer, which carries no signature itself.
struct SocketKey {
  IpAddr ip;
  uint16_t port = 0;
  bool operator==(const SocketKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const SocketKey& k) {
    return H::combine(std::move(h), k.ip.bytes, k.ip.family, k.port);
  }
};
struct SocketEntry {
  int service;
  Timestamp expires;
};
constexpr Timestamp kSocketCacheTtl = 600 * kNanosPerSecond;
constexpr size_t kMaxSocketEntries = 65'536;

}  // namespace

const char* evidenceName(Evidence e) {
  switch (e) {
    case Evidence::kNone:
      return "none";
    case Evidence::kTlsSni:
      return "tls-sni";
    case Evidence::kQuicSni:
      return "quic-sni";
    case Evidence::kHttpHost:
      return "http-host";
    case Evidence::kDnsAnswer:
      return "dns-answer";
    case Evidence::kDnsAnswerOtherHost:
      return "dns-answer-other-client";
    case Evidence::kDnsQuery:
      return "dns-query";
    case Evidence::kIpPrefix:
      return "ip-prefix";
    case Evidence::kPayloadSignature:
      return "payload-signature";
    case Evidence::kTlsCertificate:
      return "tls-certificate";
    case Evidence::kSocketCache:
      return "socket-cache";
  }
  return "none";
}

class Classifier::Impl {
 public:
  Impl(const ServiceMap& services, ClassifierConfig config, ClassifierStats& stats)
      : services_(services),
        config_(config),
        stats_(stats),
        dns_(config.dns_cache_entries, config.dns_min_ttl) {
    service_names_.reserve(services_.size());
    for (size_t i = 0; i < services_.size(); ++i) {
      service_names_.push_back(pool_.intern(services_.service(static_cast<int>(i)).name));
    }
    if (config_.ndpi) {
      ndpi_ = std::make_unique<NdpiEngine>();
      if (!ndpi_->ok()) {
        ndpi_.reset();
      }
    }
  }

  void inspect(Flow& flow, const DecodedPacket& pkt) {
    // Every DNS answer teaches the cache, whatever became of its own flow.
    std::vector<DnsMessage>* dns = isDns(pkt) ? &learnDns(pkt) : nullptr;
    if (flow.label.decided && !flow.analysis) {
      return;
    }
    ClassifyState* st = stateOf(flow);
    if (st == nullptr) {
      st = start(flow, pkt);
    }
    if (!st->ndpi_done) {
      st->ndpi_done = ndpi_->process(*st->ndpi, pkt.l3, pkt.l3_caplen, pkt.ts, flow.key.proto);
      if (st->ndpi_done) {
        settleNdpi(flow, *st);
      }
    }
    if (!flow.label.decided) {
      ++st->packets;
      const bool upstream = pkt.src_ip == flow.localIp();
      if (pkt.payload_caplen > 0 && st->signature_service < 0 &&
          st->payload_packets < config_.signature_packets) {
        matchSignature(flow, *st, pkt, upstream);
      }
      if (dns != nullptr) {
        nameDnsFlow(*st, *dns);
      } else if (flow.key.proto == ipproto::kTcp) {
        inspectTcp(*st, pkt, upstream);
      } else if (flow.key.proto == ipproto::kUdp && upstream) {
        inspectUdp(*st, pkt);
      }
      // UDP flows stay open to payload signatures for a few packets: a calling app's STUN
      // attributes or a game's hello often come after the first datagram.
      const bool nothing_left =
          flow.key.proto == ipproto::kTcp
              ? st->stream_done
              : (flow.key.proto != ipproto::kUdp ||
                 (st->quic_done &&
                  (st->dns_name != nullptr || st->payload_packets >= config_.signature_packets)));
      if (st->sni != nullptr || st->host != nullptr || st->signature_service >= 0 || nothing_left ||
          st->packets >= config_.max_packets) {
        decide(flow, *st);
      } else {
        apply(flow, *st);  // provisional, so early windows already show what is known
      }
    }
    if (flow.label.decided && st->ndpi_done) {
      flow.analysis.reset();
    }
  }

  void finalize(Flow& flow) {
    ClassifyState* st = stateOf(flow);
    if (st == nullptr) {
      return;
    }
    if (!st->ndpi_done) {
      settleNdpi(flow, *st);
    }
    if (!flow.label.decided) {
      decide(flow, *st);
    }
    flow.analysis.reset();
  }

  size_t dnsCacheSize() const { return dns_.size(); }
  uint64_t dnsCacheRejected() const { return dns_.rejectedFull(); }

 private:
  static ClassifyState* stateOf(Flow& flow) {
    return static_cast<ClassifyState*>(flow.analysis.get());
  }

  ClassifyState* start(Flow& flow, const DecodedPacket& pkt) {
    auto st = std::make_unique<ClassifyState>();
    if (ndpi_ && pkt.l3 != nullptr) {
      st->ndpi = std::make_unique<NdpiFlow>();
      st->ndpi_done = false;
      ++stats_.ndpi_flows;
    }
    bool same_client = true;
    if (const std::string* name =
            dns_.lookup(flow.localIp(), flow.remoteIp(), pkt.ts, same_client)) {
      if (same_client || config_.dns_any_client) {
        st->dns_name = name;
        st->dns_evidence = same_client ? Evidence::kDnsAnswer : Evidence::kDnsAnswerOtherHost;
      }
    }
    st->prefix_service = services_.matchAddress(flow.remoteIp());
    if (flow.key.proto == ipproto::kUdp) {
      if (auto it = sockets_.find(SocketKey{flow.localIp(), flow.localPort()});
          it != sockets_.end() && it->second.expires > pkt.ts) {
        st->socket_service = it->second.service;
      }
    }
    ClassifyState* raw = st.get();
    flow.analysis = std::move(st);
    return raw;
  }

  void settleNdpi(Flow& flow, ClassifyState& st) {
    flow.label.ndpi = pool_.intern(ndpi_->verdict(*st.ndpi));
    st.ndpi.reset();
    st.ndpi_done = true;
  }

  void matchSignature(const Flow& flow, ClassifyState& st, const DecodedPacket& pkt,
                      bool upstream) {
    PayloadContext ctx;
    ctx.l4_proto = flow.key.proto;
    ctx.local_port = flow.localPort();
    ctx.remote_port = flow.remotePort();
    ctx.upstream = upstream;
    ctx.payload_index = st.payload_packets++;
    ctx.payload = payloadOf(pkt);
    if (const char* protocol = matchPayloadSignature(ctx)) {
      st.signature_service = services_.findByNdpiName(protocol);
      if (st.signature_service >= 0 && flow.key.proto == ipproto::kUdp) {
        rememberSocket(flow, st.signature_service, pkt.ts);
      }
    }
  }

  void rememberSocket(const Flow& flow, int service, Timestamp now) {
    if (sockets_.size() >= kMaxSocketEntries) {
      absl::erase_if(sockets_, [now](const auto& e) { return e.second.expires <= now; });
      if (sockets_.size() >= kMaxSocketEntries) {
        return;  // bounded; the flow itself is labelled anyway
      }
    }
    sockets_[SocketKey{flow.localIp(), flow.localPort()}] = {service, now + kSocketCacheTtl};
  }

  // Parses a DNS packet and feeds its answers to the cache; returns the messages parsed.
  std::vector<DnsMessage>& learnDns(const DecodedPacket& pkt) {
    std::vector<DnsMessage>& messages = dns_scratch_;
    messages.clear();
    if (pkt.payload_caplen == 0) {
      return messages;
    }
    if (pkt.l4_proto == ipproto::kUdp) {
      DnsMessage msg;
      const ParseStatus s = parseDnsMessage(payloadOf(pkt), msg);
      if (s == ParseStatus::kMalformed) {
        ++stats_.dns_malformed;
      }
      if (s == ParseStatus::kFound) {
        messages.push_back(std::move(msg));
      }
    } else {
      // DNS over TCP: a message usually fills its segment; partial ones are not reassembled.
      size_t consumed = 0;
      if (parseDnsOverTcp(payloadOf(pkt), messages, consumed) == ParseStatus::kMalformed) {
        ++stats_.dns_malformed;
      }
    }
    for (const DnsMessage& msg : messages) {
      if (!msg.is_response) {
        continue;
      }
      ++stats_.dns_responses;
      std::string asked;
      const auto addresses = resolveAddresses(msg, asked);
      if (addresses.empty() || asked.empty()) {
        continue;
      }
      const std::string* name = pool_.intern(asked);
      for (const auto& [addr, ttl] : addresses) {
        dns_.add(pkt.dst_ip, addr, name, pkt.ts, ttl);  // the response goes to the client
      }
    }
    return messages;
  }

  // A DNS flow is named by the query it carries.
  void nameDnsFlow(ClassifyState& st, const std::vector<DnsMessage>& messages) {
    for (const DnsMessage& msg : messages) {
      if (!msg.question.empty() && st.dns_name == nullptr) {
        st.dns_name = pool_.intern(msg.question);
        st.dns_evidence = Evidence::kDnsQuery;
      }
    }
    if (st.dns_name != nullptr) {
      st.stream_done = st.quic_done = true;
    }
  }

  static void appendSegment(TcpStream& s, uint32_t seq, std::span<const uint8_t> data) {
    const auto offset = static_cast<int32_t>(seq - s.next_seq);
    if (offset > 0) {
      if (s.pending.size() < kMaxPendingSegments) {
        s.pending.emplace_back(seq, std::string(data.begin(), data.end()));
      }
      return;
    }
    const auto skip = static_cast<size_t>(-offset);  // retransmitted bytes we already have
    if (skip >= data.size()) {
      return;
    }
    const size_t room = kMaxStreamBytes - std::min(kMaxStreamBytes, s.bytes.size());
    const size_t take = std::min(data.size() - skip, room);
    s.bytes.append(reinterpret_cast<const char*>(data.data() + skip), take);
    s.next_seq += static_cast<uint32_t>(take);
  }

  // Adds a segment to `s`; false when the snap length cut it (later bytes would be misplaced).
  static bool addSegment(TcpStream& s, const DecodedPacket& pkt) {
    if ((pkt.tcp_flags & tcpflag::kSyn) != 0) {
      s.next_seq = pkt.tcp_seq + 1;
      s.seq_known = true;
      return true;
    }
    if (pkt.payload_wire_len == 0 || pkt.l4_header_len == 0) {
      return true;
    }
    if (!s.seq_known) {  // mid-stream start: the stream begins with this segment
      s.next_seq = pkt.tcp_seq;
      s.seq_known = true;
    }
    appendSegment(s, pkt.tcp_seq, payloadOf(pkt));
    for (bool progress = true; progress && !s.pending.empty();) {
      progress = false;
      for (size_t i = 0; i < s.pending.size(); ++i) {
        if (static_cast<int32_t>(s.pending[i].first - s.next_seq) <= 0) {
          auto [seq, bytes] = std::move(s.pending[i]);
          s.pending.erase(s.pending.begin() + static_cast<std::ptrdiff_t>(i));
          appendSegment(s, seq, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
          progress = true;
          break;
        }
      }
    }
    return pkt.payload_caplen >= pkt.payload_wire_len;
  }

  static std::span<const uint8_t> bytesOf(const TcpStream& s) {
    return {reinterpret_cast<const uint8_t*>(s.bytes.data()), s.bytes.size()};
  }

  void inspectTcp(ClassifyState& st, const DecodedPacket& pkt, bool upstream) {
    if (st.stream_done) {
      return;
    }
    if (!upstream) {
      if (st.want_certificate) {
        if (!addSegment(st.down, pkt)) {
          st.stream_done = true;
          return;
        }
        parseCertificate(st);
      }
      return;
    }
    if (st.want_certificate) {
      return;  // the ClientHello is parsed; only the server's side matters now
    }
    if (!addSegment(st.up, pkt)) {
      st.stream_done = true;
      return;
    }
    parseStream(st);
  }

  void parseCertificate(ClassifyState& st) {
    if ((st.down.bytes.empty())) {
      return;
    }
    const ParseStatus s = parseTlsServerCertificateNames(bytesOf(st.down), st.certificate_names);
    if (s == ParseStatus::kNeedMore) {
      st.stream_done = st.down.bytes.size() >= kMaxStreamBytes;
      return;
    }
    if (s == ParseStatus::kMalformed) {
      ++stats_.tls_malformed;
    }
    st.stream_done = true;
  }

  void parseStream(ClassifyState& st) {
    const std::span<const uint8_t> bytes = bytesOf(st.up);
    TlsClientHello hello;
    const ParseStatus tls = parseTlsClientHello(bytes, hello);
    if (tls == ParseStatus::kFound) {
      if (!hello.sni.empty()) {
        st.sni = pool_.intern(hello.sni);
        st.sni_evidence = Evidence::kTlsSni;
        st.stream_done = true;
      } else {
        st.want_certificate = true;  // no SNI: the server's certificate may name it
      }
      return;
    }
    if (tls == ParseStatus::kMalformed) {
      ++stats_.tls_malformed;
      st.stream_done = true;
      return;
    }
    if (tls == ParseStatus::kNeedMore) {
      st.stream_done = st.up.bytes.size() >= kMaxStreamBytes;
      return;
    }
    std::string host;
    const ParseStatus http = parseHttpRequestHost(bytes, host);
    if (http == ParseStatus::kFound) {
      st.host = pool_.intern(host);
    }
    st.stream_done = http != ParseStatus::kNeedMore || st.up.bytes.size() >= kMaxStreamBytes;
  }

  void inspectUdp(ClassifyState& st, const DecodedPacket& pkt) {
    if (st.quic_done || pkt.payload_caplen == 0) {
      return;
    }
    // Google QUIC (Q0xx) sends its ClientHello in clear: one datagram says all.
    std::string gquic_sni;
    if (parseGquicChloSni(payloadOf(pkt), gquic_sni) == ParseStatus::kFound) {
      st.sni = pool_.intern(gquic_sni);
      st.sni_evidence = Evidence::kQuicSni;
      st.quic_done = true;
      st.quic.reset();
      return;
    }
    if (!st.quic) {
      st.quic = std::make_unique<QuicInitialReassembler>();
    }
    const ParseStatus s = st.quic->addDatagram(payloadOf(pkt));
    if (s == ParseStatus::kFound) {
      if (!st.quic->sni().empty()) {
        st.sni = pool_.intern(st.quic->sni());
        st.sni_evidence = Evidence::kQuicSni;
      }
      st.quic_done = true;
    } else if (s == ParseStatus::kNotThis && st.packets <= 1) {
      st.quic_done = true;  // the first datagram is no QUIC Initial: not QUIC at all
    } else if (s == ParseStatus::kMalformed) {
      ++stats_.quic_malformed;
      st.quic_done = ++st.quic_failures >= kMaxQuicFailures;
    }
    if (st.quic_done) {
      st.quic.reset();
    }
  }

  // Labels the flow from the strongest evidence that names a service; the domain is the most
  // specific name known (SNI, else DNS, else HTTP Host).
  void apply(Flow& flow, const ClassifyState& st) {
    FlowLabel& label = flow.label;
    label.service = nullptr;
    label.evidence = static_cast<uint8_t>(Evidence::kNone);
    auto take = [&](int id, Evidence evidence) {
      if (label.service == nullptr && id >= 0) {
        label.service = service_names_[static_cast<size_t>(id)];
        label.evidence = static_cast<uint8_t>(evidence);
      }
    };
    auto byName = [&](const std::string* name) {
      return name != nullptr ? services_.matchDomain(*name) : -1;
    };
    // Strongest first: names the client sent, then the protocol it speaks, then names learnt
    // from DNS, then the server's address.
    take(byName(st.sni), st.sni_evidence);
    take(byName(st.host), Evidence::kHttpHost);
    take(st.signature_service, Evidence::kPayloadSignature);
    take(st.socket_service, Evidence::kSocketCache);
    take(byName(st.dns_name), st.dns_evidence);
    if (st.sni == nullptr) {
      for (const std::string& name : st.certificate_names) {
        // A wildcard's suffix is what the service map knows.
        const std::string_view bare =
            name.starts_with("*.") ? std::string_view(name).substr(2) : std::string_view(name);
        take(services_.matchDomain(bare), Evidence::kTlsCertificate);
      }
    }
    take(st.prefix_service, Evidence::kIpPrefix);
    label.domain = st.sni != nullptr ? st.sni : (st.dns_name != nullptr ? st.dns_name : st.host);
    Evidence domain_evidence = st.sni != nullptr        ? st.sni_evidence
                               : st.dns_name != nullptr ? st.dns_evidence
                                                        : Evidence::kHttpHost;
    if (label.domain == nullptr && !st.certificate_names.empty()) {
      label.domain = pool_.intern(st.certificate_names.front());
      domain_evidence = Evidence::kTlsCertificate;
    }
    if (label.service == nullptr && label.domain != nullptr) {
      label.evidence = static_cast<uint8_t>(domain_evidence);
    }
  }

  void decide(Flow& flow, ClassifyState& st) {
    apply(flow, st);
    flow.label.decided = true;
    ++stats_.flows_decided;
    ++stats_.by_evidence[flow.label.evidence];
    // Free the parsing state at once; only nDPI may still be running.
    st.up = TcpStream{};
    st.down = TcpStream{};
    std::vector<std::string>().swap(st.certificate_names);
    st.quic.reset();
  }

  const ServiceMap& services_;
  ClassifierConfig config_;
  ClassifierStats& stats_;
  StringPool pool_;
  std::vector<const std::string*> service_names_;
  DnsCache dns_;
  std::vector<DnsMessage> dns_scratch_;
  absl::flat_hash_map<SocketKey, SocketEntry> sockets_;
  std::unique_ptr<NdpiEngine> ndpi_;
};

Classifier::Classifier(const ServiceMap& services, ClassifierConfig config)
    : impl_(std::make_unique<Impl>(services, config, stats_)) {}

Classifier::~Classifier() = default;

void Classifier::inspect(Flow& flow, const DecodedPacket& pkt) {
  impl_->inspect(flow, pkt);
}
void Classifier::finalize(Flow& flow) {
  impl_->finalize(flow);
}
size_t Classifier::dnsCacheSize() const {
  return impl_->dnsCacheSize();
}
uint64_t Classifier::dnsCacheRejected() const {
  return impl_->dnsCacheRejected();
}

}  // namespace nm
