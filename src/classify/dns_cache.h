#pragma once
// Names learnt from DNS answers seen on the wire: which name a client asked for when it was
// told a server address. A later flow from that client to that address inherits the name (the
// original core's main trick). Entries live for the record's TTL, at least `min_ttl`, in packet
// time. Single-threaded.

#include <cstdint>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "core/net_types.h"

namespace nm {

class DnsCache {
 public:
  DnsCache(size_t max_entries, Timestamp min_ttl);

  // Remembers that `client` resolved `name` to `server` at `now` with `ttl_seconds`.
  void add(const IpAddr& client, const IpAddr& server, const std::string* name, Timestamp now,
           uint32_t ttl_seconds);

  // The name `client` resolved to `server`; else, when `any_client`, the latest name any client
  // resolved to it (marked by setting `same_client` false). nullptr when none is live at `now`.
  const std::string* lookup(const IpAddr& client, const IpAddr& server, Timestamp now,
                            bool& same_client) const;

  size_t size() const { return by_client_.size(); }
  uint64_t rejectedFull() const { return rejected_full_; }

 private:
  struct Entry {
    const std::string* name;
    Timestamp expires;
  };
  struct PairKey {
    IpAddr client;
    IpAddr server;
    bool operator==(const PairKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const PairKey& k) {
      return H::combine(std::move(h), k.client.bytes, k.client.family, k.server.bytes,
                        k.server.family);
    }
  };
  struct AddrHash {
    size_t operator()(const IpAddr& a) const noexcept;
  };

  void purge(Timestamp now);

  size_t max_entries_;
  Timestamp min_ttl_;
  absl::flat_hash_map<PairKey, Entry> by_client_;
  absl::flat_hash_map<IpAddr, Entry, AddrHash> by_server_;
  uint64_t rejected_full_ = 0;
};

}  // namespace nm
