#pragma once
// Probe side of the RabbitMQ transport: publishes TA lines to the topic queue (wire form in
// amqp_settings.h) with publisher confirms, at least once.
//
// Delivery guarantee: every message handed to publish() stays in an in-memory list until the
// broker confirms it (basic.ack: the broker has written it to the durable queue). When the
// connection drops, or the broker nacks, the publisher reconnects with exponential backoff and
// republishes every unconfirmed message in the original order. So a message is lost only if the
// process dies (or is destroyed) before its confirm; it may arrive twice when a connection drops
// between the broker storing it and its confirm reaching us. Consumers must tolerate duplicates
// (the daemon's sinks replace by key; sink.h).
//
// Threads: the publisher owns one I/O thread that owns the connection; every public member may
// be called from any thread. publish() only takes a mutex and never waits on the network.
// The destructor stops the I/O thread (waiting at most about one connect_timeout if it is in
// the middle of connecting) and drops what is still unconfirmed, with a warning: call
// waitForConfirms() first.
//
// Metrics (registered in the constructor, role="publisher"):
//   netmicroscope_amqp_connects_total, netmicroscope_amqp_errors_total{kind=connect|
//   connection_lost|nack|queue_full|empty_body}, netmicroscope_amqp_messages_total{kind=
//   published|confirmed|republished}, gauge netmicroscope_amqp_unconfirmed_messages.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/metrics.h"
#include "sinks/rabbitmq/amqp_loop.h"
#include "sinks/rabbitmq/amqp_settings.h"

namespace nm {

class AmqpPublisher : private amqp_detail::LoopHooks {
 public:
  // Starts the I/O thread, which connects at once. `settings` should pass amqpSettingsErrors();
  // connection problems never throw: they are logged, counted and retried.
  AmqpPublisher(AmqpSettings settings, MetricsRegistry& metrics);
  ~AmqpPublisher();
  AmqpPublisher(const AmqpPublisher&) = delete;
  AmqpPublisher& operator=(const AmqpPublisher&) = delete;

  // Queues one message: `body` is a TA line (one trailing "\n" or "\r\n" is removed), sent with
  // header deployment=`deployment` (omitted when empty). Returns false, counting why, when the
  // line is empty or max_unconfirmed messages are already waiting. Copies both views.
  bool publish(std::string_view body, std::string_view deployment);

  // Waits until every message published before this call is confirmed (true) or `timeout`
  // passes (false). Messages published meanwhile by other threads are not waited for.
  bool waitForConfirms(std::chrono::milliseconds timeout);

  // Messages published and not yet confirmed (queued, in flight, or waiting for a reconnect).
  size_t unconfirmed() const;

  bool connected() const;
  // Why the last connection attempt failed or the last connection dropped; empty if none did.
  std::string lastError() const;

 private:
  struct Pending {
    std::string body;
    std::string deployment;
    uint64_t tag = 0;  // delivery tag on the current connection; 0 = not sent on it
    bool confirmed = false;
    bool resend = false;  // was sent on an earlier connection without a confirm
  };
  struct Metrics;

  // LoopHooks, on the I/O thread: publish what is queued, retire what the broker confirms.
  std::string onConnectedLocked() override;
  std::string onDisconnectedLocked() override;
  bool sendQueued() override;
  bool hasQueuedLocked() const override;
  bool onMethod(uint32_t method_id, const void* decoded) override;
  void onStopped() override;
  bool handleAck(uint64_t tag, bool multiple);

  const AmqpSettings settings_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;  // guards what follows, and the loop's connected/stopping state
  std::condition_variable confirmed_cv_;
  std::deque<Pending> pending_;  // oldest first
  size_t sent_ = 0;              // pending_[0, sent_) were published on the current connection
  uint64_t next_tag_ = 1;        // broker's next delivery tag on the current connection
  uint64_t accepted_ = 0;        // messages ever accepted by publish()
  uint64_t retired_ = 0;         // messages ever confirmed (popped from pending_)

  amqp_detail::ConnectionLoop loop_;  // last: the destructor stops it before the above goes away
};

}  // namespace nm
