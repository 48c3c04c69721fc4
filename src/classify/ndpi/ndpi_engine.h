#pragma once
// nDPI (Debian's libndpi 4.2) as a second, independent classifier. One engine per capture
// thread; it is not thread-safe. Its verdicts are recorded beside ours, never mixed into them.

#include <cstdint>
#include <memory>
#include <string>

#include "core/net_types.h"

struct ndpi_detection_module_struct;
struct ndpi_flow_struct;

namespace nm {

// nDPI's per-flow state (about 700 bytes plus what its dissectors allocate), freed as soon as
// the verdict is final.
class NdpiFlow {
 public:
  NdpiFlow();
  ~NdpiFlow();
  NdpiFlow(const NdpiFlow&) = delete;
  NdpiFlow& operator=(const NdpiFlow&) = delete;

 private:
  friend class NdpiEngine;
  ndpi_flow_struct* flow_;
  uint16_t master_ = 0;
  uint16_t app_ = 0;
  uint16_t packets_ = 0;
};

class NdpiEngine {
 public:
  NdpiEngine();
  ~NdpiEngine();
  NdpiEngine(const NdpiEngine&) = delete;
  NdpiEngine& operator=(const NdpiEngine&) = delete;

  bool ok() const { return module_ != nullptr; }

  // Feeds one packet from its IP header (`l3`, `len` captured bytes). Returns true when nDPI's
  // verdict is final (detected with nothing more to dissect, or `max_packets` reached).
  bool process(NdpiFlow& flow, const uint8_t* l3, uint32_t len, Timestamp ts, uint8_t l4_proto);

  // The verdict as nDPI prints it ("TLS.NetFlix", "DNS", "Unknown"), guessing from ports and
  // addresses when nothing was detected (as ndpiReader does when a flow ends).
  std::string verdict(NdpiFlow& flow);

 private:
  ndpi_detection_module_struct* module_ = nullptr;
};

}  // namespace nm
