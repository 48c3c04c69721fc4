#pragma once
// The classify stage's door. Classifier::inspect() looks at a flow's first packets for names
// (TLS SNI, QUIC Initial SNI, HTTP Host, DNS answers seen earlier, DNS queries) and addresses
// (service IP prefixes), maps them to a service of the ServiceMap, and runs nDPI beside it as
// an independent verdict. Once decided, a flow's classification state is freed, so it costs
// nothing per packet afterwards. Single-threaded: one classifier per capture thread; it must
// outlive every flow it labelled (the labels point into its string pool).

#include <cstdint>
#include <memory>
#include <string>

#include "classify/service_map.h"
#include "decode/decode.h"
#include "flow/flow.h"

namespace nm {

// Which evidence decided a flow's label (stored in FlowLabel::evidence).
enum class Evidence : uint8_t {
  kNone = 0,
  kTlsSni,
  kQuicSni,
  kHttpHost,
  kDnsAnswer,           // this client resolved the server's address to a name
  kDnsAnswerOtherHost,  // another client did (shared cache)
  kDnsQuery,            // a DNS flow: the name it asks for
  kIpPrefix,            // the server address lies in a service's prefix
  kPayloadSignature,    // an application protocol recognised from payload bytes
  kTlsCertificate,      // no SNI: the names in the server's certificate (TLS 1.2 and older)
  kSocketCache,         // the same local UDP socket already spoke an identified protocol
};
const char* evidenceName(Evidence e);

struct ClassifierConfig {
  bool ndpi = true;                               // run nDPI beside our classifier
  uint32_t max_packets = 24;                      // undecided flows give up after this many packets
  uint32_t signature_packets = 8;                 // payload packets offered to payload signatures
  size_t dns_cache_entries = 1'000'000;           // (client, server) pairs remembered
  Timestamp dns_min_ttl = 300 * kNanosPerSecond;  // clients cache longer than short TTLs say
  bool dns_any_client = true;                     // fall back to names other clients resolved
};

struct ClassifierStats {
  uint64_t flows_decided = 0;
  uint64_t by_evidence[11] = {};
  uint64_t dns_responses = 0;
  uint64_t dns_malformed = 0;
  uint64_t tls_malformed = 0;
  uint64_t quic_malformed = 0;
  uint64_t ndpi_flows = 0;
};

class Classifier {
 public:
  Classifier(const ServiceMap& services, ClassifierConfig config);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Inspects a packet of `flow` (FlowTable::observe() just counted it). Cheap once the flow is
  // decided and nDPI is done.
  void inspect(Flow& flow, const DecodedPacket& pkt);

  // Settles a flow that ends undecided (best evidence so far; nDPI's guess) and frees its state.
  void finalize(Flow& flow);

  const ClassifierStats& stats() const { return stats_; }
  size_t dnsCacheSize() const;
  uint64_t dnsCacheRejected() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  ClassifierStats stats_;
};

}  // namespace nm
