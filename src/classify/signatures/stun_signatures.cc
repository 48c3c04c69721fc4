#include "classify/signatures/signatures.h"

namespace nm {

const char* matchStunSignature(const PayloadContext&) { return nullptr; }

}  // namespace nm
