#include "classify/signatures/signatures.h"

namespace nm {

const char* matchAppSignature(const PayloadContext&) { return nullptr; }

}  // namespace nm
