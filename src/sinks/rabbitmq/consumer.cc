#include "sinks/rabbitmq/consumer.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <utility>

#include "sinks/rabbitmq/amqp_connection.h"

namespace nm {

using amqp_detail::AmqpConnection;
using amqp_detail::Backoff;
using amqp_detail::describeClose;
using amqp_detail::describeReply;
using amqp_detail::describeStatus;
using amqp_detail::kChannel;
using amqp_detail::Role;
using amqp_detail::viewOf;
using amqp_detail::Wakeup;

namespace {

// Longest sleep while idle; rabbitmq-c sends our heartbeats only when we call into it.
constexpr std::chrono::milliseconds kIdlePoll{250};
// Frames handled per round before sending queued acks again.
constexpr int kReadBatch = 256;
// A connection that lived this long was healthy: the next reconnect starts at backoff_min.
constexpr std::chrono::seconds kHealthyAfter{5};

std::string deploymentHeader(const amqp_basic_properties_t& props) {
  if ((props._flags & AMQP_BASIC_HEADERS_FLAG) == 0) {
    return {};
  }
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (viewOf(e.key) != "deployment") {
      continue;
    }
    // pika and we send a longstr ('S'); accept raw bytes ('x') as well.
    if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
      return std::string(viewOf(e.value.value.bytes));
    }
  }
  return {};
}

}  // namespace

struct AmqpConsumer::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : connects(r.counter("netmicroscope_amqp_connects_total",
                           "Successful AMQP connections (login, queue declared)",
                           {{"role", "consumer"}})),
        connect_errors(error(r, "connect")),
        connection_lost(error(r, "connection_lost")),
        stale_acks(error(r, "stale_ack")),
        delivered(message(r, "delivered")),
        redelivered(message(r, "redelivered")),
        acked(message(r, "acked")),
        discarded(message(r, "discarded")) {}

  static Counter& error(MetricsRegistry& r, const char* kind) {
    return r.counter("netmicroscope_amqp_errors_total", "AMQP transport errors, by kind",
                     {{"role", "consumer"}, {"kind", kind}});
  }
  static Counter& message(MetricsRegistry& r, const char* kind) {
    return r.counter("netmicroscope_amqp_messages_total", "AMQP messages, by what happened",
                     {{"role", "consumer"}, {"kind", kind}});
  }

  Counter& connects;
  Counter& connect_errors;
  Counter& connection_lost;
  Counter& stale_acks;
  Counter& delivered;
  Counter& redelivered;
  Counter& acked;
  Counter& discarded;
};

AmqpConsumer::AmqpConsumer(AmqpSettings settings, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<Metrics>(metrics)),
      wakeup_(std::make_unique<Wakeup>()),
      conn_(std::make_unique<AmqpConnection>()),
      io_([this] { run(); }) {}

AmqpConsumer::~AmqpConsumer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_cv_.notify_all();
  wakeup_->notify();
  io_.join();
}

bool AmqpConsumer::next(Delivery& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ready_cv_.wait_for(lock, timeout, [&] { return !ready_.empty() || stopping_; });
  if (ready_.empty()) {
    return false;
  }
  out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void AmqpConsumer::ack(const Delivery& delivery) {
  queueAck(delivery, false);
}

void AmqpConsumer::ackUpTo(const Delivery& delivery) {
  queueAck(delivery, true);
}

void AmqpConsumer::queueAck(const Delivery& delivery, bool multiple) {
  {
    std::lock_guard lock(mu_);
    if (!connected_ || delivery.token.generation_ != generation_) {
      metrics_->stale_acks.add();
      return;
    }
    acks_.push_back(Ack{delivery.token.generation_, delivery.token.tag_, multiple});
  }
  wakeup_->notify();
}

bool AmqpConsumer::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

std::string AmqpConsumer::lastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool AmqpConsumer::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void AmqpConsumer::run() {
  Backoff backoff(settings_.backoff_min, settings_.backoff_max);
  amqp_detail::FailureLog failures;
  auto connected_at = std::chrono::steady_clock::now();
  while (!stopping()) {
    if (!conn_->isOpen()) {
      if (!connect()) {
        const auto delay = backoff.next();
        const auto level =
            failures.shouldWarn(conn_->error()) ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "AMQP consumer: cannot connect to {}:{}: {}; retrying in {} ms",
                    settings_.host, settings_.port, conn_->error(), delay.count());
        waitFor(delay);
        continue;
      }
      if (const uint64_t failed = failures.reset(); failed > 0) {
        spdlog::info("AMQP consumer: connected after {} failed attempt(s)", failed);
      }
      connected_at = std::chrono::steady_clock::now();
    }
    if (!pump()) {
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
  // Unacknowledged deliveries go back to the queue when the connection closes.
  conn_->close();
}

bool AmqpConsumer::connect() {
  if (!conn_->open(settings_, Role::kConsumer)) {
    metrics_->connect_errors.add();
    std::lock_guard lock(mu_);
    last_error_ = conn_->error();
    return false;
  }
  progress_ = false;
  unacked_.clear();
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    ++generation_;
  }
  metrics_->connects.add();
  spdlog::info("AMQP consumer connected to {}:{} ({}), queue '{}', prefetch {}, heartbeat {} s",
               settings_.host, settings_.port, settings_.tls ? "TLS" : "plain TCP", settings_.topic,
               settings_.prefetch, conn_->heartbeat());
  return true;
}

void AmqpConsumer::disconnect(const std::string& reason) {
  conn_->abandon();
  metrics_->connection_lost.add();
  const size_t unacked = unacked_.size();
  unacked_.clear();
  size_t discarded = 0;
  {
    std::lock_guard lock(mu_);
    discarded = ready_.size();
    ready_.clear();
    acks_.clear();
    connected_ = false;
    last_error_ = reason;
  }
  metrics_->discarded.add(discarded);
  spdlog::warn(
      "AMQP consumer disconnected from {}:{}: {}; the broker redelivers its {} "
      "unacknowledged message(s)",
      settings_.host, settings_.port, reason, unacked);
}

bool AmqpConsumer::pump() {
  if (!sendAcks() || !readFrames()) {
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (!acks_.empty() || stopping_) {
      return true;
    }
  }
  amqp_connection_state_t state = conn_->state();
  if (amqp_frames_enqueued(state) || amqp_data_in_buffer(state)) {
    return true;
  }
  amqp_detail::waitReadable(conn_->fd(), *wakeup_, kIdlePoll);
  return true;
}

bool AmqpConsumer::sendAcks() {
  std::vector<Ack> acks;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    acks.swap(acks_);
    generation = generation_;
  }
  for (const Ack& a : acks) {
    if (a.generation != generation) {
      metrics_->stale_acks.add();
      continue;
    }
    // The broker closes the channel for a tag that is not outstanding, so only outstanding
    // tags go out; a multiple ack names the newest outstanding tag <= the one asked for.
    auto end = std::upper_bound(unacked_.begin(), unacked_.end(), a.tag);
    uint64_t tag = 0;
    size_t count = 0;
    if (a.multiple) {
      if (end == unacked_.begin()) {
        metrics_->stale_acks.add();
        continue;
      }
      tag = *(end - 1);
      count = static_cast<size_t>(end - unacked_.begin());
      unacked_.erase(unacked_.begin(), end);
    } else {
      if (end == unacked_.begin() || *(end - 1) != a.tag) {
        metrics_->stale_acks.add();
        continue;
      }
      tag = a.tag;
      count = 1;
      unacked_.erase(end - 1);
    }
    const int status = amqp_basic_ack(conn_->state(), kChannel, tag, a.multiple ? 1 : 0);
    if (status != AMQP_STATUS_OK) {
      disconnect(describeStatus("basic.ack", status));
      return false;
    }
    metrics_->acked.add(count);
  }
  return true;
}

bool AmqpConsumer::readFrames() {
  amqp_connection_state_t state = conn_->state();
  for (int i = 0; i < kReadBatch; ++i) {
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
    switch (frame.payload.method.id) {
      case AMQP_BASIC_DELIVER_METHOD: {
        const auto* d = static_cast<const amqp_basic_deliver_t*>(frame.payload.method.decoded);
        if (!readDelivery(d->delivery_tag, d->redelivered != 0)) {
          return false;
        }
        break;
      }
      case AMQP_BASIC_CANCEL_METHOD:
        // The broker cancelled our consumer (queue deleted): reconnecting declares it again.
        disconnect("broker cancelled the consumer (queue deleted?)");
        return false;
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        std::string reason = describeClose(frame);
        amqp_detail::answerClose(state, frame);
        disconnect(reason);
        return false;
      }
      default:
        break;
    }
  }
  amqp_maybe_release_buffers(state);
  return true;
}

bool AmqpConsumer::readDelivery(uint64_t tag, bool redelivered) {
  amqp_message_t message{};
  // The header and body frames follow the deliver frame at once; rabbitmq-c waits for them
  // with heartbeat checks.
  const amqp_rpc_reply_t reply = amqp_read_message(conn_->state(), kChannel, &message, 0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    disconnect(describeReply("reading a delivery", reply));
    return false;
  }
  Delivery d;
  d.body.assign(viewOf(message.body));
  d.deployment = deploymentHeader(message.properties);
  d.redelivered = redelivered;
  amqp_destroy_message(&message);

  progress_ = true;
  unacked_.push_back(tag);
  metrics_->delivered.add();
  if (redelivered) {
    metrics_->redelivered.add();
  }
  {
    std::lock_guard lock(mu_);
    d.token.generation_ = generation_;
    d.token.tag_ = tag;
    ready_.push_back(std::move(d));
  }
  ready_cv_.notify_one();
  return true;
}

void AmqpConsumer::waitFor(std::chrono::milliseconds delay) {
  const auto deadline = std::chrono::steady_clock::now() + delay;
  while (!stopping()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return;
    }
    amqp_detail::waitReadable(-1, *wakeup_, left);
  }
}

}  // namespace nm
