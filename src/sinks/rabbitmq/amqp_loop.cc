#include "sinks/rabbitmq/amqp_loop.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include "sinks/rabbitmq/amqp_connection.h"

namespace nm::amqp_detail {
namespace {

// Longest sleep while idle; rabbitmq-c sends our heartbeats only when we call into it.
constexpr std::chrono::milliseconds kIdlePoll{250};
// A connection that lived this long was healthy: the next reconnect starts at backoff_min.
constexpr std::chrono::seconds kHealthyAfter{5};

}  // namespace

const char* roleName(Role role) {
  return role == Role::kPublisher ? "publisher" : "consumer";
}

LoopMetrics::LoopMetrics(MetricsRegistry& r, Role which)
    : registry(r),
      role(which),
      connects(r.counter("netmicroscope_amqp_connects_total",
                         "Successful AMQP connections (login, queue declared)",
                         {{"role", roleName(role)}})),
      connect_errors(error("connect")),
      connection_lost(error("connection_lost")) {}

Counter& LoopMetrics::error(const char* kind) const {
  return registry.counter("netmicroscope_amqp_errors_total", "AMQP transport errors, by kind",
                          {{"role", roleName(role)}, {"kind", kind}});
}

Counter& LoopMetrics::message(const char* kind) const {
  return registry.counter("netmicroscope_amqp_messages_total", "AMQP messages, by what happened",
                          {{"role", roleName(role)}, {"kind", kind}});
}

ConnectionLoop::ConnectionLoop(const AmqpSettings& settings, LoopMetrics& metrics, LoopHooks& hooks,
                               std::mutex& mu, size_t read_batch)
    : settings_(settings),
      metrics_(metrics),
      hooks_(hooks),
      read_batch_(read_batch),
      name_(roleName(metrics.role)),
      wakeup_(std::make_unique<Wakeup>()),
      conn_(std::make_unique<AmqpConnection>()),
      mu_(mu) {}

ConnectionLoop::~ConnectionLoop() {
  stop();
}

void ConnectionLoop::start() {
  io_ = std::thread([this] { run(); });
}

void ConnectionLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wakeup_->notify();
  if (io_.joinable()) {
    io_.join();
  }
}

void ConnectionLoop::notify() {
  wakeup_->notify();
}

bool ConnectionLoop::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

std::string ConnectionLoop::lastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool ConnectionLoop::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void ConnectionLoop::run() {
  Backoff backoff(settings_.backoff_min, settings_.backoff_max);
  FailureLog failures;
  auto connected_at = std::chrono::steady_clock::now();
  while (!stopping()) {
    if (!conn_->isOpen()) {
      if (!connect()) {
        const auto delay = backoff.next();
        const auto level =
            failures.shouldWarn(conn_->error()) ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "AMQP {}: cannot connect to {}:{}: {}; retrying in {} ms", name_,
                    settings_.host, settings_.port, conn_->error(), delay.count());
        waitFor(delay);
        continue;
      }
      if (const uint64_t failed = failures.reset(); failed > 0) {
        spdlog::info("AMQP {}: connected after {} failed attempt(s)", name_, failed);
      }
      connected_at = std::chrono::steady_clock::now();
    }
    if (!pump()) {
      // A connection that did useful work, or lived a while, was healthy: retry soon. One that
      // died at once (nack loop, broker refusing us) keeps backing off.
      if (progress_ || std::chrono::steady_clock::now() - connected_at >= kHealthyAfter) {
        backoff.reset();
      }
      waitFor(backoff.next());
    }
  }
  {
    std::lock_guard lock(mu_);
    connected_ = false;
  }
  // A consumer's unacknowledged deliveries go back to the queue when the connection closes.
  conn_->close();
  hooks_.onStopped();
}

bool ConnectionLoop::connect() {
  if (!conn_->open(settings_, metrics_.role)) {
    metrics_.connect_errors.add();
    std::lock_guard lock(mu_);
    last_error_ = conn_->error();
    return false;
  }
  progress_ = false;
  std::string detail;
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    detail = hooks_.onConnectedLocked();
  }
  metrics_.connects.add();
  spdlog::info("AMQP {} connected to {}:{} ({}), queue '{}', heartbeat {} s; {}", name_,
               settings_.host, settings_.port, settings_.tls ? "TLS" : "plain TCP", settings_.topic,
               conn_->heartbeat(), detail);
  return true;
}

void ConnectionLoop::disconnect(const std::string& reason) {
  conn_->abandon();
  metrics_.connection_lost.add();
  std::string detail;
  {
    std::lock_guard lock(mu_);
    connected_ = false;
    last_error_ = reason;
    detail = hooks_.onDisconnectedLocked();
  }
  spdlog::warn("AMQP {} disconnected from {}:{}: {}; {}", name_, settings_.host, settings_.port,
               reason, detail);
}

bool ConnectionLoop::pump() {
  if (!hooks_.sendQueued() || !readFrames()) {
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_ || hooks_.hasQueuedLocked()) {
      return true;
    }
  }
  amqp_connection_state_t state = conn_->state();
  if (amqp_frames_enqueued(state) || amqp_data_in_buffer(state)) {
    return true;
  }
  waitReadable(conn_->fd(), *wakeup_, kIdlePoll);
  return true;
}

bool ConnectionLoop::readFrames() {
  amqp_connection_state_t state = conn_->state();
  for (size_t i = 0; i < read_batch_; ++i) {
    amqp_frame_t frame{};
    timeval zero{0, 0};
    const int status = amqp_simple_wait_frame_noblock(state, &frame, &zero);
    if (status == AMQP_STATUS_TIMEOUT) {
      break;
    }
    if (status != AMQP_STATUS_OK) {
      disconnect(describeStatus("read", status));
      return false;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) {
      continue;  // heartbeats are consumed by rabbitmq-c; stray content frames are skipped
    }
    const amqp_method_t& method = frame.payload.method;
    if (method.id == AMQP_CHANNEL_CLOSE_METHOD || method.id == AMQP_CONNECTION_CLOSE_METHOD) {
      std::string reason = describeClose(frame);
      answerClose(state, frame);
      disconnect(reason);
      return false;
    }
    if (!hooks_.onMethod(method.id, method.decoded)) {
      return false;
    }
  }
  amqp_maybe_release_buffers(state);
  return true;
}

void ConnectionLoop::waitFor(std::chrono::milliseconds delay) {
  const auto deadline = std::chrono::steady_clock::now() + delay;
  while (!stopping()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return;
    }
    waitReadable(-1, *wakeup_, left);
  }
}

}  // namespace nm::amqp_detail
