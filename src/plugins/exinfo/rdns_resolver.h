#pragma once
// Reverse DNS (PTR) lookups for exinfo, off the ingest path: c-ares on a thread of its own,
// asynchronous, rate-limited, with the answer's TTL so callers can cache it for as long as the
// zone allows.
//
// The ingest thread calls request() (never blocks: the request is queued or refused) and
// drain() (collects finished answers); the resolver thread sends at most `queries_per_second`
// new queries (token bucket, burst = max(1, queries_per_second)) and keeps at most
// `max_in_flight` unanswered. Each address queued or in flight once at a time: a second
// request() for it is accepted and merged.
//
// Threading: request(), drain(), pending() from one thread (the daemon's ingest thread); the
// destructor from that same thread: it cancels what is in flight and joins the resolver thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/net_types.h"

namespace nm {

struct RdnsOptions {
  // "ip[:port],..." (IPv6 as "[::1]:53"); empty: the system's resolvers (/etc/resolv.conf).
  std::string servers;
  double queries_per_second = 20;
  size_t max_in_flight = 32;
  size_t max_queued = 10'000;  // request() refuses beyond this many pending() (counted)
  int timeout_ms = 2'000;      // per try
  int tries = 2;
  // TTL used for a negative answer without an SOA in it, and the bounds every TTL is clamped to
  // (a zero TTL would make the caller ask again for every record).
  uint32_t negative_ttl_s = 3'600;
  uint32_t min_ttl_s = 60;
  uint32_t max_ttl_s = 86'400;
};

enum class RdnsStatus : uint8_t {
  kName,    // a PTR name: RdnsAnswer::name
  kNoName,  // NXDOMAIN or no PTR record: a negative answer, cacheable for ttl_s
  kFailed,  // timeout, SERVFAIL, REFUSED, unreachable server: ask again later (ttl_s = min_ttl_s)
};

struct RdnsAnswer {
  IpAddr ip;
  RdnsStatus status = RdnsStatus::kFailed;
  std::string name;    // without the trailing dot; the first PTR when there are several
  uint32_t ttl_s = 0;  // clamped to [min_ttl_s, max_ttl_s]
  std::string error;   // kFailed: what went wrong (c-ares' ares_strerror text)
};

// "4.3.2.1.in-addr.arpa" / nibble form under "ip6.arpa" for `ip` (IPv4 or IPv6).
std::string reverseName(const IpAddr& ip);

// The PTR answer in a DNS response message (bounds-checked; never trusts a count or length):
// kName with the first PTR target of the answer section and the smallest TTL of the PTR records;
// kNoName for NXDOMAIN or NOERROR without PTR, with the TTL from the authority SOA
// (min(SOA TTL, SOA MINIMUM), RFC 2308) when present else `negative_ttl_s`; kFailed with
// `error` for other rcodes, malformed messages and a first PTR target that is not a host name
// (labels of letters, digits, '-' and '_' only). TTLs are NOT clamped here.
RdnsAnswer parsePtrResponse(const uint8_t* data, size_t size, uint32_t negative_ttl_s);

class RdnsResolver {
 public:
  // Initialises c-ares with `options` and starts the resolver thread; nullptr with `error`
  // (bad server list, c-ares init failure, queries_per_second not > 0, max_in_flight or
  // max_queued 0, timeout_ms or tries < 1, min_ttl_s > max_ttl_s). Registers netmicroscope_rdns_*
  // metrics in `metrics`: queries sent, answers by status, requests refused (queue full), in
  // flight, queued.
  static std::unique_ptr<RdnsResolver> start(const RdnsOptions& options, MetricsRegistry& metrics,
                                             std::string& error);
  ~RdnsResolver();
  RdnsResolver(const RdnsResolver&) = delete;
  RdnsResolver& operator=(const RdnsResolver&) = delete;

  // Queues a PTR lookup of `ip`. false when the queue is full (the caller asks again later).
  bool request(const IpAddr& ip);
  // Appends every answer finished since the last call to `out`.
  void drain(std::vector<RdnsAnswer>& out);
  // Requests queued or in flight.
  size_t pending() const;

  // One lookup, waiting for its answer (for `netmicroscope lookup`): nullopt with `error` when
  // the resolver could not start. Waits at most as long as c-ares' retries take (it doubles the
  // timeout each round over the servers) plus one second; then a kFailed "timed out" answer.
  static std::optional<RdnsAnswer> resolveNow(const IpAddr& ip, const RdnsOptions& options,
                                              std::string& error);

 private:
  struct Impl;
  explicit RdnsResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The resolver's send gate, exposed for its unit test: a token bucket refilled at `rate_per_s`
// holding at most max(1, rate_per_s) tokens, starting full. Time is passed in (steady clock, ns)
// so tests need no sleeps. Not thread-safe; the resolver thread owns its bucket.
class RdnsTokenBucket {
 public:
  RdnsTokenBucket(double rate_per_s, int64_t now_ns);
  // Takes one token if there is one at `now_ns`.
  bool tryTake(int64_t now_ns);
  // Nanoseconds from `now_ns` until a token is available (0: one is available now).
  int64_t nsUntilToken(int64_t now_ns);

 private:
  void refill(int64_t now_ns);

  // Integer time credit, not fractional tokens: a token costs cost_ns_ of refill time, so waking
  // after exactly nsUntilToken() always finds one (no rounding).
  int64_t cost_ns_;
  int64_t capacity_ns_;
  int64_t credit_ns_;
  int64_t last_ns_;
};

}  // namespace nm
