#include "classify/signatures/signatures.h"

namespace nm {

const char* matchPayloadSignature(const PayloadContext& ctx) {
  if (ctx.payload.empty()) {
    return nullptr;
  }
  if (const char* name = matchStunSignature(ctx)) {
    return name;
  }
  return matchAppSignature(ctx);
}

}  // namespace nm
