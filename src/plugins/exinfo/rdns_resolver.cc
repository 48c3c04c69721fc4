#include "plugins/exinfo/rdns_resolver.h"

#include <ares.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace nm {
namespace {

constexpr int kClassIn = 1;
constexpr int kTypePtr = 12;
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kWarnIntervalNs = int64_t{60} * 1'000'000'000;
constexpr double kMaxTokenCostNs = 1e18;

int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::once_flag ares_library_once;
int ares_library_status = ARES_SUCCESS;

RdnsAnswer failedAnswer(std::string error) {
  RdnsAnswer a;
  a.status = RdnsStatus::kFailed;
  a.error = std::move(error);
  return a;
}

}  // namespace

RdnsTokenBucket::RdnsTokenBucket(double rate_per_s, int64_t now_ns) : last_ns_(now_ns) {
  // One token's worth of refill time, kept within 1 ns .. ~31 years so the sums cannot overflow.
  const double cost = rate_per_s > 0 ? 1e9 / rate_per_s : kMaxTokenCostNs;
  cost_ns_ = static_cast<int64_t>(std::clamp(std::round(cost), 1.0, kMaxTokenCostNs));
  const double capacity = std::max(1.0, rate_per_s);
  capacity_ns_ = static_cast<int64_t>(std::clamp(
      std::round(capacity * static_cast<double>(cost_ns_)), static_cast<double>(cost_ns_), 4e18));
  credit_ns_ = capacity_ns_;
}

void RdnsTokenBucket::refill(int64_t now_ns) {
  if (now_ns <= last_ns_) {
    return;
  }
  const int64_t room = capacity_ns_ - credit_ns_;
  credit_ns_ += std::min(room, now_ns - last_ns_);
  last_ns_ = now_ns;
}

bool RdnsTokenBucket::tryTake(int64_t now_ns) {
  refill(now_ns);
  if (credit_ns_ < cost_ns_) {
    return false;
  }
  credit_ns_ -= cost_ns_;
  return true;
}

int64_t RdnsTokenBucket::nsUntilToken(int64_t now_ns) {
  refill(now_ns);
  return credit_ns_ >= cost_ns_ ? 0 : cost_ns_ - credit_ns_;
}

struct RdnsResolver::Impl {
  // ares_query()'s callback argument; owned by c-ares until the callback runs (which it always
  // does, with ARES_EDESTRUCTION at the latest).
  struct Query {
    Impl* impl;
    IpAddr ip;
  };

  Impl(const RdnsOptions& opts, MetricsRegistry& metrics)
      : options(opts),
        queries(
            metrics.counter("netmicroscope_rdns_queries_total", "Reverse DNS (PTR) queries sent")),
        answers_name(metrics.counter("netmicroscope_rdns_answers_total",
                                     "Reverse DNS answers, by status", {{"status", "name"}})),
        answers_no_name(metrics.counter("netmicroscope_rdns_answers_total",
                                        "Reverse DNS answers, by status", {{"status", "no_name"}})),
        answers_failed(metrics.counter("netmicroscope_rdns_answers_total",
                                       "Reverse DNS answers, by status", {{"status", "failed"}})),
        refused(metrics.counter("netmicroscope_rdns_refused_total",
                                "Reverse DNS requests refused because the queue was full")),
        in_flight_gauge(metrics.gauge("netmicroscope_rdns_in_flight",
                                      "Reverse DNS queries sent and not answered yet")),
        queued_gauge(
            metrics.gauge("netmicroscope_rdns_queued", "Reverse DNS requests waiting to be sent")),
        bucket(opts.queries_per_second, steadyNs()) {}

  ~Impl() {
    if (thread.joinable()) {
      {
        std::lock_guard lock(mu);
        stopping = true;
      }
      wake();
      thread.join();
    }
    if (channel != nullptr) {
      // Answers still in flight come back as ARES_EDESTRUCTION and are dropped.
      ares_destroy(channel);
    }
    if (wake_fd >= 0) {
      close(wake_fd);
    }
    // Gauges may be shared with other resolvers on the same registry: take back our part.
    queued_gauge.add(-static_cast<int64_t>(queue.size()));
    in_flight_gauge.add(-static_cast<int64_t>(in_flight));
  }

  void wake() const {
    const uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the thread wakes up anyway.
    [[maybe_unused]] const ssize_t n = write(wake_fd, &one, sizeof one);
  }

  // How long resolveNow() may wait: c-ares tries each server `tries` rounds, doubling the
  // per-try timeout every round.
  std::chrono::milliseconds lookupBudget() const {
    int servers = 1;
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel, &list) == ARES_SUCCESS) {
      servers = 0;
      for (const ares_addr_port_node* n = list; n != nullptr; n = n->next) {
        ++servers;
      }
      ares_free_data(list);
    }
    const int rounds = std::min(options.tries, 20);
    const int64_t per_server = int64_t{options.timeout_ms} * ((int64_t{1} << rounds) - 1);
    return std::chrono::milliseconds(std::max(1, servers) * per_server + 1'000);
  }

  void run() {
    std::vector<IpAddr> batch;
    std::vector<pollfd> fds;
    while (true) {
      const int64_t now = steadyNs();
      bool more_queued = false;
      {
        std::lock_guard lock(mu);
        if (stopping) {
          break;
        }
        while (in_flight + batch.size() < options.max_in_flight && !queue.empty() &&
               bucket.tryTake(now)) {
          batch.push_back(queue.front());
          queue.pop_front();
        }
        queued_gauge.add(-static_cast<int64_t>(batch.size()));
        more_queued = !queue.empty();
      }
      // Not under `mu`: ares_query() may call the callback at once, and the callback takes it.
      for (const IpAddr& ip : batch) {
        send(ip);
      }
      batch.clear();

      int timeout_ms = -1;
      timeval tv{};
      if (ares_timeout(channel, nullptr, &tv) != nullptr) {
        timeout_ms = clampMs(int64_t{tv.tv_sec} * 1'000 + (tv.tv_usec + 999) / 1'000);
      }
      if (more_queued && in_flight < options.max_in_flight) {
        timeout_ms = earlier(timeout_ms, nsToMs(bucket.nsUntilToken(now)));
      }
      if (unlogged_failures > 0) {
        timeout_ms = earlier(timeout_ms, nsToMs(last_warn_ns + kWarnIntervalNs - now));
      }

      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      fds.clear();
      fds.push_back(pollfd{wake_fd, POLLIN, 0});
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) {
          events |= POLLIN;
        }
        if (ARES_GETSOCK_WRITABLE(bits, i)) {
          events |= POLLOUT;
        }
        if (events != 0) {
          fds.push_back(pollfd{socks[i], events, 0});
        }
      }
      if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
        spdlog::error("reverse DNS: poll failed: {}", std::strerror(errno));
        for (pollfd& p : fds) {
          p.revents = 0;
        }
      }
      if ((fds[0].revents & POLLIN) != 0) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = read(wake_fd, &count, sizeof count);
      }
      bool processed = false;
      for (size_t i = 1; i < fds.size(); ++i) {
        const short ev = fds[i].revents;
        if (ev == 0 || (ev & POLLNVAL) != 0) {
          continue;
        }
        // An error (ICMP port unreachable on a UDP socket) is read as one: c-ares sees
        // ECONNREFUSED and moves on to the next try.
        const bool readable = (ev & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (ev & POLLOUT) != 0;
        ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                        writable ? fds[i].fd : ARES_SOCKET_BAD);
        processed = true;
      }
      if (!processed) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts only
      }
      maybeWarn(steadyNs());
    }
  }

  void send(const IpAddr& ip) {
    ++in_flight;
    in_flight_gauge.add(1);
    queries.add();
    ares_query(channel, reverseName(ip).c_str(), kClassIn, kTypePtr, &Impl::onQueryDone,
               new Query{this, ip});
  }

  static void onQueryDone(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Query> query(static_cast<Query*>(arg));
    query->impl->onAnswer(query->ip, status, abuf, alen);
  }

  void onAnswer(const IpAddr& ip, int status, const unsigned char* abuf, int alen) {
    --in_flight;
    in_flight_gauge.add(-1);
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
      return;  // shutting down: nobody will drain it
    }
    const bool negative = status == ARES_ENOTFOUND || status == ARES_ENODATA;
    RdnsAnswer answer;
    if (abuf != nullptr && alen > 0 && (status == ARES_SUCCESS || negative)) {
      // c-ares hands over the message for NXDOMAIN and NODATA too: its SOA has the TTL.
      answer = parsePtrResponse(abuf, static_cast<size_t>(alen), options.negative_ttl_s);
    } else if (negative) {
      answer.status = RdnsStatus::kNoName;
      answer.ttl_s = options.negative_ttl_s;
    } else {
      // Timeouts, refusals, and (c-ares 1.18) SERVFAIL/REFUSED from every server, which it
      // reports as ARES_ECONNREFUSED after trying the others.
      answer = failedAnswer(ares_strerror(status));
    }
    answer.ip = ip;
    switch (answer.status) {
      case RdnsStatus::kName:
        answers_name.add();
        answer.ttl_s = std::clamp(answer.ttl_s, options.min_ttl_s, options.max_ttl_s);
        break;
      case RdnsStatus::kNoName:
        answers_no_name.add();
        answer.ttl_s = std::clamp(answer.ttl_s, options.min_ttl_s, options.max_ttl_s);
        break;
      case RdnsStatus::kFailed:
        answers_failed.add();
        answer.ttl_s = options.min_ttl_s;
        ++unlogged_failures;
        last_failure = fmt::format("{}: {}", ip.toString(), answer.error);
        break;
    }
    {
      std::lock_guard lock(mu);
      pending.erase(ip);
      answers.push_back(std::move(answer));
    }
    answered.notify_all();
  }

  // At most one warning a minute; the first failure is reported at once.
  void maybeWarn(int64_t now) {
    if (unlogged_failures == 0 || (warned && now - last_warn_ns < kWarnIntervalNs)) {
      return;
    }
    spdlog::warn("reverse DNS: {} lookup(s) failed{} (last: {})", unlogged_failures,
                 warned ? " in the last minute" : "", last_failure);
    warned = true;
    last_warn_ns = now;
    unlogged_failures = 0;
  }

  static int clampMs(int64_t ms) { return static_cast<int>(std::clamp<int64_t>(ms, 0, INT_MAX)); }
  static int nsToMs(int64_t ns) {
    if (ns <= 0) {
      return 0;
    }
    return clampMs(ns / kNanosPerMilli + (ns % kNanosPerMilli != 0 ? 1 : 0));
  }
  static int earlier(int a_ms, int b_ms) { return a_ms < 0 ? b_ms : std::min(a_ms, b_ms); }

  const RdnsOptions options;
  ares_channel channel = nullptr;
  int wake_fd = -1;
  std::thread thread;

  Counter& queries;
  Counter& answers_name;
  Counter& answers_no_name;
  Counter& answers_failed;
  Counter& refused;
  Gauge& in_flight_gauge;
  Gauge& queued_gauge;

  // Shared between the caller's thread and the resolver thread.
  mutable std::mutex mu;
  std::condition_variable answered;
  std::deque<IpAddr> queue;  // waiting for a token or an in-flight slot
  std::set<IpAddr> pending;  // queued or in flight, for merging duplicates
  std::vector<RdnsAnswer> answers;
  bool stopping = false;

  // The resolver thread's alone (and the destructor's, after the join).
  size_t in_flight = 0;
  RdnsTokenBucket bucket;
  uint64_t unlogged_failures = 0;
  std::string last_failure;
  bool warned = false;
  int64_t last_warn_ns = 0;
};

RdnsResolver::RdnsResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RdnsResolver::~RdnsResolver() = default;

std::unique_ptr<RdnsResolver> RdnsResolver::start(const RdnsOptions& options,
                                                  MetricsRegistry& metrics, std::string& error) {
  std::string problems;
  auto problem = [&](const std::string& what) {
    problems += problems.empty() ? "" : "; ";
    problems += what;
  };
  if (!std::isfinite(options.queries_per_second) || options.queries_per_second <= 0) {
    problem("queries_per_second must be > 0");
  }
  if (options.max_in_flight == 0) {
    problem("max_in_flight must be > 0");
  }
  if (options.max_queued == 0) {
    problem("max_queued must be > 0");
  }
  if (options.timeout_ms < 1 || options.tries < 1) {
    problem("timeout_ms and tries must be >= 1");
  }
  if (options.min_ttl_s > options.max_ttl_s) {
    problem("min_ttl_s must not exceed max_ttl_s");
  }
  if (!problems.empty()) {
    error = "reverse DNS: " + problems;
    return nullptr;
  }

  std::call_once(ares_library_once,
                 [] { ares_library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (ares_library_status != ARES_SUCCESS) {
    error = fmt::format("reverse DNS: c-ares init: {}", ares_strerror(ares_library_status));
    return nullptr;
  }

  auto impl = std::make_unique<Impl>(options, metrics);
  ares_options ares{};
  ares.timeout = options.timeout_ms;
  ares.tries = options.tries;
  int status = ares_init_options(&impl->channel, &ares, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (status != ARES_SUCCESS) {
    impl->channel = nullptr;
    error = fmt::format("reverse DNS: c-ares init: {}", ares_strerror(status));
    return nullptr;
  }
  if (!options.servers.empty()) {
    status = ares_set_servers_ports_csv(impl->channel, options.servers.c_str());
    if (status != ARES_SUCCESS) {
      error = fmt::format("reverse DNS: servers '{}': {}", options.servers, ares_strerror(status));
      return nullptr;
    }
  }
  impl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->wake_fd < 0) {
    error = fmt::format("reverse DNS: eventfd: {}", std::strerror(errno));
    return nullptr;
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<RdnsResolver>(new RdnsResolver(std::move(impl)));
}

bool RdnsResolver::request(const IpAddr& ip) {
  Impl& s = *impl_;
  if (!ip.isV4() && !ip.isV6()) {
    // A caller's mistake, answered rather than refused so that it is not asked again at once.
    RdnsAnswer answer = failedAnswer("not an IPv4 or IPv6 address");
    answer.ip = ip;
    answer.ttl_s = s.options.min_ttl_s;
    s.answers_failed.add();
    std::lock_guard lock(s.mu);
    s.answers.push_back(std::move(answer));
    return true;
  }
  bool was_empty = false;
  {
    std::lock_guard lock(s.mu);
    if (s.pending.count(ip) != 0) {
      return true;  // merged with the one queued or in flight
    }
    if (s.pending.size() >= s.options.max_queued) {
      s.refused.add();
      return false;
    }
    was_empty = s.queue.empty();
    s.queue.push_back(ip);
    s.pending.insert(ip);
    s.queued_gauge.add(1);
  }
  // A non-empty queue is already on the thread's mind (waiting for a token or a slot).
  if (was_empty) {
    s.wake();
  }
  return true;
}

void RdnsResolver::drain(std::vector<RdnsAnswer>& out) {
  std::lock_guard lock(impl_->mu);
  if (out.empty()) {
    out.swap(impl_->answers);
    return;
  }
  out.insert(out.end(), std::make_move_iterator(impl_->answers.begin()),
             std::make_move_iterator(impl_->answers.end()));
  impl_->answers.clear();
}

size_t RdnsResolver::pending() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pending.size();
}

std::optional<RdnsAnswer> RdnsResolver::resolveNow(const IpAddr& ip, const RdnsOptions& options,
                                                   std::string& error) {
  MetricsRegistry metrics;  // outlives the resolver: declared first
  auto resolver = start(options, metrics, error);
  if (resolver == nullptr) {
    return std::nullopt;
  }
  Impl& s = *resolver->impl_;
  const auto deadline = std::chrono::steady_clock::now() + s.lookupBudget();
  resolver->request(ip);  // never refused: the queue is empty and max_queued >= 1
  std::unique_lock lock(s.mu);
  if (s.answered.wait_until(lock, deadline, [&] { return !s.answers.empty(); })) {
    return std::move(s.answers.front());
  }
  RdnsAnswer answer = failedAnswer("timed out");
  answer.ip = ip;
  answer.ttl_s = options.min_ttl_s;
  return answer;
}

}  // namespace nm
