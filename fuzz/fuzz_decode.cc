// libFuzzer target for decode(): any bytes, under any supported link type, must decode without
// a crash, a sanitizer report or a broken promise (see fuzz_frame.h for the input layout).
// libFuzzer hands over an exactly-sized buffer, so the invariant "payload lies inside the frame"
// plus ASan on every read decode() makes covers the views it returns.

#include <cstddef>
#include <cstdint>

#include "decode/decode.h"
#include "fuzz_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nm::RawPacket raw;
  if (!nm::fuzz::frameFromInput(data, size, raw)) {
    return 0;
  }
  nm::DecodedPacket pkt;
  const nm::DecodeStatus status = nm::decode(raw, pkt);
  if (!nm::fuzz::decodeInvariantsHold(raw, status, pkt)) {
    __builtin_trap();
  }
  if (decodeStatusName(status)[0] != 'd') {
    __builtin_trap();
  }
  return 0;
}
