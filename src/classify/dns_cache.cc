#include "classify/dns_cache.h"

#include <absl/hash/hash.h>

#include <algorithm>

namespace nm {

size_t DnsCache::AddrHash::operator()(const IpAddr& a) const noexcept {
  return absl::HashOf(a.bytes, a.family);
}

DnsCache::DnsCache(size_t max_entries, Timestamp min_ttl)
    : max_entries_(std::max<size_t>(max_entries, 16)), min_ttl_(min_ttl) {}

void DnsCache::purge(Timestamp now) {
  absl::erase_if(by_client_, [now](const auto& e) { return e.second.expires <= now; });
  absl::erase_if(by_server_, [now](const auto& e) { return e.second.expires <= now; });
}

void DnsCache::add(const IpAddr& client, const IpAddr& server, const std::string* name,
                   Timestamp now, uint32_t ttl_seconds) {
  const Timestamp ttl = std::max<Timestamp>(ttl_seconds * kNanosPerSecond, min_ttl_);
  const Entry entry{name, now + ttl};
  if (by_client_.size() >= max_entries_ || by_server_.size() >= max_entries_) {
    purge(now);
    if (by_client_.size() >= max_entries_ || by_server_.size() >= max_entries_) {
      ++rejected_full_;  // bounded memory wins; counted in the classifier's stats
      return;
    }
  }
  by_client_[PairKey{client, server}] = entry;
  by_server_[server] = entry;
}

const std::string* DnsCache::lookup(const IpAddr& client, const IpAddr& server, Timestamp now,
                                    bool& same_client) const {
  if (auto it = by_client_.find(PairKey{client, server});
      it != by_client_.end() && it->second.expires > now) {
    same_client = true;
    return it->second.name;
  }
  if (auto it = by_server_.find(server); it != by_server_.end() && it->second.expires > now) {
    same_client = false;
    return it->second.name;
  }
  return nullptr;
}

}  // namespace nm
