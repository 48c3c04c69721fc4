#include "sinks/rabbitmq/publisher.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <utility>

#include "sinks/rabbitmq/amqp_connection.h"

namespace nm {

using amqp_detail::AmqpConnection;
using amqp_detail::Backoff;
using amqp_detail::bytesOf;
using amqp_detail::describeClose;
using amqp_detail::describeStatus;
using amqp_detail::kChannel;
using amqp_detail::Role;
using amqp_detail::Wakeup;

namespace {

// Messages sent per round before reading confirms again, so acks never pile up unread.
constexpr int kSendBatch = 256;
// Longest sleep while idle; rabbitmq-c sends our heartbeats only when we call into it.
constexpr std::chrono::milliseconds kIdlePoll{250};
// A connection that lived this long was healthy: the next reconnect starts at backoff_min.
constexpr std::chrono::seconds kHealthyAfter{5};

std::string_view stripNewline(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
  }
  return line;
}

}  // namespace

struct AmqpPublisher::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : connects(r.counter("netmicroscope_amqp_connects_total",
                           "Successful AMQP connections (login, queue declared)",
                           {{"role", "publisher"}})),
        connect_errors(error(r, "connect")),
        connection_lost(error(r, "connection_lost")),
        nacks(error(r, "nack")),
        queue_full(error(r, "queue_full")),
        empty_body(error(r, "empty_body")),
        published(message(r, "published")),
        confirmed(message(r, "confirmed")),
        republished(message(r, "republished")),
        unconfirmed(r.gauge("netmicroscope_amqp_unconfirmed_messages",
                            "Messages published and not yet confirmed by the broker")) {}

  static Counter& error(MetricsRegistry& r, const char* kind) {
    return r.counter("netmicroscope_amqp_errors_total", "AMQP transport errors, by kind",
                     {{"role", "publisher"}, {"kind", kind}});
  }
  static Counter& message(MetricsRegistry& r, const char* kind) {
    return r.counter("netmicroscope_amqp_messages_total", "AMQP messages, by what happened",
                     {{"role", "publisher"}, {"kind", kind}});
  }

  Counter& connects;
  Counter& connect_errors;
  Counter& connection_lost;
  Counter& nacks;
  Counter& queue_full;
  Counter& empty_body;
  Counter& published;
  Counter& confirmed;
  Counter& republished;
  Gauge& unconfirmed;
};

AmqpPublisher::AmqpPublisher(AmqpSettings settings, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<Metrics>(metrics)),
      wakeup_(std::make_unique<Wakeup>()),
      conn_(std::make_unique<AmqpConnection>()),
      io_([this] { run(); }) {}

AmqpPublisher::~AmqpPublisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wakeup_->notify();
  io_.join();
}

bool AmqpPublisher::publish(std::string_view body, std::string_view deployment) {
  body = stripNewline(body);
  if (body.empty()) {
    metrics_->empty_body.add();
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return false;
    }
    if (pending_.size() >= settings_.max_unconfirmed) {
      metrics_->queue_full.add();
      return false;
    }
    pending_.push_back(Pending{std::string(body), std::string(deployment)});
    ++accepted_;
    metrics_->unconfirmed.set(static_cast<int64_t>(pending_.size()));
  }
  wakeup_->notify();
  return true;
}

bool AmqpPublisher::waitForConfirms(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const uint64_t target = accepted_;
  return confirmed_cv_.wait_for(lock, timeout, [&] { return retired_ >= target; });
}

size_t AmqpPublisher::unconfirmed() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

bool AmqpPublisher::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

std::string AmqpPublisher::lastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool AmqpPublisher::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void AmqpPublisher::run() {
  Backoff backoff(settings_.backoff_min, settings_.backoff_max);
  amqp_detail::FailureLog failures;
  auto connected_at = std::chrono::steady_clock::now();
  while (!stopping()) {
    if (!conn_->isOpen()) {
      if (!connect()) {
        const auto delay = backoff.next();
        const auto level =
            failures.shouldWarn(conn_->error()) ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "AMQP publisher: cannot connect to {}:{}: {}; retrying in {} ms",
                    settings_.host, settings_.port, conn_->error(), delay.count());
        waitFor(delay);
        continue;
      }
      if (const uint64_t failed = failures.reset(); failed > 0) {
        spdlog::info("AMQP publisher: connected after {} failed attempt(s)", failed);
      }
      connected_at = std::chrono::steady_clock::now();
    }
    if (!pump()) {
      // A connection that confirmed something, or lived a while, was healthy: retry soon. One
      // that died at once (nack loop, broker refusing us) keeps backing off.
      if (progress_ || std::chrono::steady_clock::now() - connected_at >= kHealthyAfter) {
        backoff.reset();
      }
      waitFor(backoff.next());
    }
  }
  size_t left = 0;
  {
    std::lock_guard lock(mu_);
    left = pending_.size();
    connected_ = false;
  }
  conn_->close();
  if (left > 0) {
    spdlog::warn("AMQP publisher stopped with {} unconfirmed message(s); they are dropped", left);
  }
}

bool AmqpPublisher::connect() {
  if (!conn_->open(settings_, Role::kPublisher)) {
    metrics_->connect_errors.add();
    std::lock_guard lock(mu_);
    last_error_ = conn_->error();
    return false;
  }
  progress_ = false;
  size_t backlog = 0;
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    sent_ = 0;
    next_tag_ = 1;  // confirm.select numbers this channel's publishes from 1
    backlog = pending_.size();
  }
  metrics_->connects.add();
  spdlog::info(
      "AMQP publisher connected to {}:{} ({}), queue '{}', heartbeat {} s; {} message(s) "
      "waiting to be sent",
      settings_.host, settings_.port, settings_.tls ? "TLS" : "plain TCP", settings_.topic,
      conn_->heartbeat(), backlog);
  return true;
}

void AmqpPublisher::disconnect(const std::string& reason) {
  conn_->abandon();
  metrics_->connection_lost.add();
  size_t kept = 0;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < sent_; ++i) {
      pending_[i].tag = 0;
      pending_[i].confirmed = false;
      pending_[i].resend = true;
    }
    sent_ = 0;
    connected_ = false;
    last_error_ = reason;
    kept = pending_.size();
  }
  spdlog::warn(
      "AMQP publisher disconnected from {}:{}: {}; {} unconfirmed message(s) kept for "
      "republishing",
      settings_.host, settings_.port, reason, kept);
}

bool AmqpPublisher::pump() {
  if (!sendSome() || !readFrames()) {
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (sent_ < pending_.size() || stopping_) {
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

bool AmqpPublisher::sendSome() {
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;  // persistent
  amqp_table_entry_t header{};
  header.key = amqp_cstring_bytes("deployment");
  header.value.kind = AMQP_FIELD_KIND_UTF8;

  for (int i = 0; i < kSendBatch; ++i) {
    const Pending* p = nullptr;
    {
      std::lock_guard lock(mu_);
      if (sent_ >= pending_.size() || stopping_) {
        return true;
      }
      // Only this thread removes elements, and deque::push_back keeps references valid, so
      // `p` stays usable after unlocking while publish() appends.
      p = &pending_[sent_];
    }
    props._flags &= ~AMQP_BASIC_HEADERS_FLAG;
    props.headers = amqp_empty_table;
    if (!p->deployment.empty()) {
      header.value.value.bytes = bytesOf(p->deployment);
      props.headers = amqp_table_t{1, &header};
      props._flags |= AMQP_BASIC_HEADERS_FLAG;
    }
    const int status =
        amqp_basic_publish(conn_->state(), kChannel, amqp_empty_bytes, bytesOf(settings_.topic),
                           /*mandatory=*/0, /*immediate=*/0, &props, bytesOf(p->body));
    if (status != AMQP_STATUS_OK) {
      disconnect(describeStatus("basic.publish", status));
      return false;
    }
    {
      std::lock_guard lock(mu_);
      pending_[sent_].tag = next_tag_++;
      ++sent_;
    }
    (p->resend ? metrics_->republished : metrics_->published).add();
  }
  return true;
}

bool AmqpPublisher::readFrames() {
  amqp_connection_state_t state = conn_->state();
  for (;;) {
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
      continue;  // heartbeats are consumed by rabbitmq-c; nothing else is expected
    }
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (!handleAck(ack->delivery_tag, ack->multiple != 0)) {
          disconnect("broker confirmed a delivery tag we never used");
          return false;
        }
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        // The broker could not store the message(s). Reconnecting republishes everything
        // unconfirmed in order, with backoff if it keeps refusing.
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        metrics_->nacks.add();
        disconnect(fmt::format("broker nacked delivery tag {}{}", nack->delivery_tag,
                               nack->multiple ? " and earlier" : ""));
        return false;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        std::string reason = describeClose(frame);
        amqp_detail::answerClose(state, frame);
        disconnect(reason);
        return false;
      }
      default:
        break;  // basic.return cannot happen (mandatory=0); anything else is informational
    }
  }
  amqp_maybe_release_buffers(state);
  return true;
}

bool AmqpPublisher::handleAck(uint64_t tag, bool multiple) {
  std::lock_guard lock(mu_);
  if (sent_ == 0) {
    return true;  // already retired by an earlier multiple ack
  }
  // Tags on this connection are consecutive from the front, so a tag maps to an index.
  const uint64_t first = pending_.front().tag;
  if (tag < first) {
    return true;
  }
  const uint64_t index = tag - first;
  if (index >= sent_) {
    return false;
  }
  if (multiple) {
    for (uint64_t i = 0; i <= index; ++i) {
      pending_[i].confirmed = true;
    }
  } else {
    pending_[index].confirmed = true;
  }
  size_t retired = 0;
  while (sent_ > 0 && pending_.front().confirmed) {
    pending_.pop_front();
    --sent_;
    ++retired;
  }
  if (retired > 0) {
    retired_ += retired;
    progress_ = true;
    metrics_->confirmed.add(retired);
    metrics_->unconfirmed.set(static_cast<int64_t>(pending_.size()));
    confirmed_cv_.notify_all();
  }
  return true;
}

void AmqpPublisher::waitFor(std::chrono::milliseconds delay) {
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
