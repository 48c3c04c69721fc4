#pragma once
// Private to src/sinks/rabbitmq: one rabbitmq-c connection with channel 1 open and the queue
// declared, plus the small pieces the I/O thread (ConnectionLoop, amqp_loop.h) and the roles
// share (wake-up fd, reconnect backoff, error text). Not thread-safe: each object belongs to the
// one I/O thread that uses it.

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sinks/rabbitmq/amqp_loop.h"  // Role
#include "sinks/rabbitmq/amqp_settings.h"

namespace nm::amqp_detail {

inline constexpr amqp_channel_t kChannel = 1;

// Views for rabbitmq-c, which takes non-const pointers it does not write through.
inline amqp_bytes_t bytesOf(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view viewOf(amqp_bytes_t b) {
  return {static_cast<const char*>(b.bytes), b.len};
}

class AmqpConnection {
 public:
  AmqpConnection() = default;
  ~AmqpConnection() { abandon(); }
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // Connects (TCP or TLS with the settings' certificates), logs in, opens channel 1 and declares
  // the durable queue; then, by role, confirm.select (publisher) or basic.qos + basic.consume
  // with manual acks (consumer). Blocks for at most a few connect_timeouts. On failure returns
  // false, leaves the object closed and error() says why in one line.
  bool open(const AmqpSettings& settings, Role role);

  // connection.close handshake (bounded by connect_timeout), then frees everything.
  void close();
  // Frees everything without talking to the broker (the socket is known to be dead).
  void abandon();

  bool isOpen() const { return state_ != nullptr; }
  amqp_connection_state_t state() const { return state_; }
  int fd() const;
  // Seconds negotiated with the broker (0: none).
  int heartbeat() const;
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string message);
  bool setUpTls(const AmqpSettings& settings, amqp_socket_t* socket);

  amqp_connection_state_t state_ = nullptr;
  std::string error_;
};

// "operation: library text (OpenSSL: reason; reason)" for a negative amqp status; the OpenSSL
// part comes from this thread's error queue, which it empties.
std::string describeStatus(std::string_view operation, int status);
// One line for an RPC reply that is not AMQP_RESPONSE_NORMAL (server code and text included).
std::string describeReply(std::string_view operation, const amqp_rpc_reply_t& reply);
// Text of a connection.close / channel.close the broker sent us.
std::string describeClose(const amqp_frame_t& frame);

// Answers the broker's connection.close / channel.close with the matching close-ok (best effort)
// so it logs a clean close.
void answerClose(amqp_connection_state_t state, const amqp_frame_t& frame);

// An eventfd other threads poke to wake the I/O thread out of poll().
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  void notify();  // any thread
  void drain();   // I/O thread
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Waits until `fd` (the connection's socket, or -1) is readable, `wakeup` is poked, or `timeout`
// passes. Returns true when the socket is readable.
bool waitReadable(int fd, Wakeup& wakeup, std::chrono::milliseconds timeout);

// Exponential reconnect delay: min, 2*min, 4*min ... max.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max);
  std::chrono::milliseconds next();
  void reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

// Keeps a broker outage from flooding the log: warn for the first failed attempt, when the reason
// changes, and once a minute; the other attempts log at debug level.
class FailureLog {
 public:
  bool shouldWarn(const std::string& error);
  // After a successful connect; returns how many attempts had failed.
  uint64_t reset();

 private:
  std::string last_;
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t failures_ = 0;
};

}  // namespace nm::amqp_detail
