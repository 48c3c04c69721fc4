#pragma once
// Central side of the RabbitMQ transport: takes TA lines from the topic queue (wire form in
// amqp_settings.h) with manual acknowledgements, so a message leaves the queue only after the
// caller's sinks made its data durable.
//
// Flow: next() hands out deliveries in queue order; the caller processes them, commits its
// sinks, then ack()s each delivery or ackUpTo() the last one (all earlier deliveries of the same
// connection too). At most `prefetch` deliveries are unacknowledged at any time: the broker stops
// sending until the caller acks.
//
// Reconnects and stale tokens: an ack token is valid only on the connection (generation) that
// delivered the message. When the connection drops, the broker puts every unacknowledged message
// back in the queue and delivers it again (redelivered=true) on the next connection, so acking
// the old token would be wrong (the tag would name another message, or none) — ack()/ackUpTo()
// with a token from an earlier generation do nothing but count
// netmicroscope_amqp_errors_total{kind="stale_ack"}. Deliveries received but not yet taken with
// next() are discarded at the same moment, for the same reason. The caller therefore sees some
// messages twice after a reconnect; the daemon's sinks replace by key (sink.h). Acking a token
// twice, or one already covered by ackUpTo(), is ignored the same way (the broker would close
// the channel for it).
//
// Threads: one I/O thread owns the connection, keeps heartbeats going while the caller is busy
// or the queue is idle for minutes, and reconnects with exponential backoff. next() is meant for
// one consuming thread; ack()/ackUpTo() may be called from any thread and never wait on the
// network (the I/O thread sends the ack). The destructor stops the I/O thread (waiting at most
// about one connect_timeout if it is connecting); unacknowledged messages return to the queue.
//
// Metrics (role="consumer"): netmicroscope_amqp_connects_total, netmicroscope_amqp_errors_total
// {kind=connect|connection_lost|stale_ack}, netmicroscope_amqp_messages_total{kind=delivered|
// redelivered|acked|discarded}.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "sinks/rabbitmq/amqp_loop.h"
#include "sinks/rabbitmq/amqp_settings.h"

namespace nm {

class AmqpConsumer : private amqp_detail::LoopHooks {
 public:
  // Opaque: which connection delivered the message, and its delivery tag there.
  class AckToken {
   public:
    AckToken() = default;

   private:
    friend class AmqpConsumer;
    uint64_t generation_ = 0;  // 0: never delivered
    uint64_t tag_ = 0;
  };

  struct Delivery {
    std::string body;          // the TA line
    std::string deployment;    // header `deployment`; empty when absent (older producers)
    bool redelivered = false;  // the broker delivered it before (to us or to another consumer)
    AckToken token;
  };

  // Starts the I/O thread, which connects at once. `settings` should pass amqpSettingsErrors();
  // connection problems never throw: they are logged, counted and retried.
  AmqpConsumer(AmqpSettings settings, MetricsRegistry& metrics);
  ~AmqpConsumer();
  AmqpConsumer(const AmqpConsumer&) = delete;
  AmqpConsumer& operator=(const AmqpConsumer&) = delete;

  // Waits up to `timeout` for the next delivery; true and `out` overwritten, or false (nothing
  // arrived, `out` untouched).
  bool next(Delivery& out, std::chrono::milliseconds timeout);

  // Acknowledges one delivery, or this one and every earlier delivery of the same connection.
  // Asynchronous: queued for the I/O thread, which sends it within milliseconds. A token from an
  // earlier connection is ignored (see above).
  void ack(const Delivery& delivery);
  void ackUpTo(const Delivery& delivery);

  bool connected() const;
  // Why the last connection attempt failed or the last connection dropped; empty if none did.
  std::string lastError() const;

 private:
  struct Ack {
    uint64_t generation;
    uint64_t tag;
    bool multiple;
  };
  struct Metrics;

  // LoopHooks, on the I/O thread: send queued acks, hand deliveries to next().
  std::string onConnectedLocked() override;
  std::string onDisconnectedLocked() override;
  bool sendQueued() override;
  bool hasQueuedLocked() const override;
  bool onMethod(uint32_t method_id, const void* decoded) override;
  bool readDelivery(uint64_t tag, bool redelivered);
  void queueAck(const Delivery& delivery, bool multiple);

  const AmqpSettings settings_;
  std::unique_ptr<Metrics> metrics_;
  // I/O thread only: delivery tags handed out and not yet acknowledged, oldest first.
  std::deque<uint64_t> unacked_;

  mutable std::mutex mu_;  // guards what follows, and the loop's connected/stopping state
  std::condition_variable ready_cv_;
  std::deque<Delivery> ready_;  // received, not yet taken by next()
  std::vector<Ack> acks_;       // requested, not yet sent
  uint64_t generation_ = 0;     // of the current connection; 0 while never connected

  amqp_detail::ConnectionLoop loop_;  // last: the destructor stops it before the above goes away
};

}  // namespace nm
