#pragma once
// Interned strings: one copy of each service name, domain and nDPI label, with a stable address
// that flows point to. Grows with the distinct names seen (a home network sees thousands a day).

#include <string>
#include <string_view>

#include <absl/container/node_hash_set.h>

namespace nm {

class StringPool {
 public:
  // The pooled copy of `s`; the reference stays valid as long as the pool.
  const std::string* intern(std::string_view s) { return &*pool_.emplace(s).first; }
  size_t size() const { return pool_.size(); }

 private:
  absl::node_hash_set<std::string> pool_;
};

}  // namespace nm
