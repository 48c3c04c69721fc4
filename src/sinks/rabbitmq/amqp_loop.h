#pragma once
// Private to src/sinks/rabbitmq: the machinery the publisher and the consumer share. A
// ConnectionLoop owns one I/O thread and the connection it keeps open: connect, run the role's
// hooks while connected, and reconnect with exponential backoff when the connection fails or
// drops. The role (AmqpPublisher, AmqpConsumer) implements LoopHooks and keeps only what is its
// own: what it sends, and what it does with the frames it receives.
//
// This header names no rabbitmq-c type, so the public headers can include it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/metrics.h"
#include "sinks/rabbitmq/amqp_settings.h"

namespace nm::amqp_detail {

class AmqpConnection;
class Wakeup;

enum class Role { kPublisher, kConsumer };

const char* roleName(Role role);

// What a role does on the connection its ConnectionLoop keeps open. Every hook runs on the I/O
// thread. "Locked" hooks run with the loop's mutex held (the one the role passed in, which also
// guards the role's shared state), so they change the role's state in the same step as the
// loop's connected() flag.
class LoopHooks {
 public:
  // A connection just opened and connected() became true: reset per-connection state. Locked.
  // Returns the end of the "connected" log line.
  virtual std::string onConnectedLocked() = 0;
  // The connection is gone (already freed) and connected() became false. Locked. Returns the
  // end of the "disconnected" warning.
  virtual std::string onDisconnectedLocked() = 0;
  // Sends what callers queued. On failure calls ConnectionLoop::disconnect() and returns false.
  virtual bool sendQueued() = 0;
  // Whether more is queued to send at once (the loop then does not sleep). Locked.
  virtual bool hasQueuedLocked() const = 0;
  // One method frame (rabbitmq-c's method id and decoded struct) other than a connection or
  // channel close, which the loop handles. Returns false after calling disconnect().
  virtual bool onMethod(uint32_t method_id, const void* decoded) = 0;
  // The loop stopped and closed the connection.
  virtual void onStopped() {}

 protected:
  ~LoopHooks() = default;
};

// The metrics every role has (labelled role=<role>), and the way the role registers its own.
struct LoopMetrics {
  LoopMetrics(MetricsRegistry& r, Role which);

  // netmicroscope_amqp_errors_total{role, kind} / netmicroscope_amqp_messages_total{role, kind}.
  Counter& error(const char* kind) const;
  Counter& message(const char* kind) const;

  MetricsRegistry& registry;
  const Role role;
  Counter& connects;         // netmicroscope_amqp_connects_total
  Counter& connect_errors;   // errors_total{kind=connect}
  Counter& connection_lost;  // errors_total{kind=connection_lost}
};

class ConnectionLoop {
 public:
  // Keeps references to everything: `settings`, `metrics`, `hooks` and `mu` must outlive the
  // loop. `mu` guards the loop's state (connected, stopping, last error) together with the
  // role's, so the role can test both in one step. The loop reads at most `read_batch` frames
  // per round before sending again. Does not start the thread: see start().
  ConnectionLoop(const AmqpSettings& settings, LoopMetrics& metrics, LoopHooks& hooks,
                 std::mutex& mu, size_t read_batch);
  // Stops the thread if stop() was not called.
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Starts the I/O thread, which connects at once. Call once, when the role is fully built:
  // the hooks run from then on.
  void start();
  // Makes the thread leave its loop (waiting at most about one connect_timeout if it is in the
  // middle of connecting), close the connection and call onStopped(); returns once it has. Any
  // thread but the I/O thread; idempotent. The role calls it before its state goes away.
  void stop();

  // Any thread: wakes the I/O thread (the role queued something to send).
  void notify();

  // Any thread; they take the mutex.
  bool connected() const;
  // Why the last connection attempt failed or the last connection dropped; empty if none did.
  std::string lastError() const;

  // With the mutex held.
  bool connectedLocked() const { return connected_; }
  bool stoppingLocked() const { return stopping_; }

  // I/O thread only (from the hooks): the open connection.
  AmqpConnection& connection() { return *conn_; }
  // I/O thread only: the current connection did useful work (a confirm or a delivery arrived),
  // so when it drops the next reconnect starts at backoff_min.
  void markProgress() { progress_ = true; }
  // I/O thread only: frees the connection (known dead, or broken by the broker), counts it and
  // records `reason` as lastError().
  void disconnect(const std::string& reason);

 private:
  void run();
  bool connect();
  // One round while connected; false when the connection is gone.
  bool pump();
  bool readFrames();
  void waitFor(std::chrono::milliseconds delay);
  bool stopping() const;

  const AmqpSettings& settings_;
  LoopMetrics& metrics_;
  LoopHooks& hooks_;
  const size_t read_batch_;
  const char* const name_;  // the role's name, for the log
  std::unique_ptr<Wakeup> wakeup_;
  std::unique_ptr<AmqpConnection> conn_;  // I/O thread only
  bool progress_ = false;                 // I/O thread only

  std::mutex& mu_;
  bool connected_ = false;
  bool stopping_ = false;
  std::string last_error_;

  std::thread io_;
};

}  // namespace nm::amqp_detail
