// libFuzzer target: payload signatures (app protocols and STUN) over any bytes, ports and
// direction. A match must be one of the protocol names the matchers declare (non-empty text).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "classify/signatures/signatures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) {
    return 0;
  }
  nm::PayloadContext ctx;
  ctx.l4_proto = (data[0] & 1) != 0 ? 17 : 6;
  ctx.upstream = (data[0] & 2) != 0;
  ctx.payload_index = data[1] & 7;
  ctx.local_port = static_cast<uint16_t>(data[2] << 8 | data[3]);
  ctx.remote_port = static_cast<uint16_t>(data[4] << 8 | data[5]);
  ctx.payload = {data + 6, size - 6};
  if (const char* name = nm::matchPayloadSignature(ctx)) {
    if (std::strlen(name) == 0) {
      __builtin_trap();
    }
  }
  return 0;
}
