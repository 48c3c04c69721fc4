#include "sinks/rabbitmq/publisher.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <limits>
#include <utility>

#include "sinks/rabbitmq/amqp_connection.h"

namespace nm {

using amqp_detail::bytesOf;
using amqp_detail::describeStatus;
using amqp_detail::kChannel;
using amqp_detail::Role;

namespace {

// Messages sent per round before reading confirms again, so acks never pile up unread.
constexpr int kSendBatch = 256;
// Confirms are read until none is waiting.
constexpr size_t kReadAll = std::numeric_limits<size_t>::max();

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
      : loop(r, Role::kPublisher),
        nacks(loop.error("nack")),
        queue_full(loop.error("queue_full")),
        empty_body(loop.error("empty_body")),
        published(loop.message("published")),
        confirmed(loop.message("confirmed")),
        republished(loop.message("republished")),
        unconfirmed(r.gauge("netmicroscope_amqp_unconfirmed_messages",
                            "Messages published and not yet confirmed by the broker")) {}

  amqp_detail::LoopMetrics loop;  // first: connects and connection errors register first
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
      loop_(settings_, metrics_->loop, *this, mu_, kReadAll) {
  loop_.start();
}

AmqpPublisher::~AmqpPublisher() {
  loop_.stop();
}

bool AmqpPublisher::publish(std::string_view body, std::string_view deployment) {
  body = stripNewline(body);
  if (body.empty()) {
    metrics_->empty_body.add();
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (loop_.stoppingLocked()) {
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
  loop_.notify();
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
  return loop_.connected();
}

std::string AmqpPublisher::lastError() const {
  return loop_.lastError();
}

std::string AmqpPublisher::onConnectedLocked() {
  sent_ = 0;
  next_tag_ = 1;  // confirm.select numbers this channel's publishes from 1
  return fmt::format("{} message(s) waiting to be sent", pending_.size());
}

std::string AmqpPublisher::onDisconnectedLocked() {
  for (size_t i = 0; i < sent_; ++i) {
    pending_[i].tag = 0;
    pending_[i].confirmed = false;
    pending_[i].resend = true;
  }
  sent_ = 0;
  return fmt::format("{} unconfirmed message(s) kept for republishing", pending_.size());
}

bool AmqpPublisher::hasQueuedLocked() const {
  return sent_ < pending_.size();
}

void AmqpPublisher::onStopped() {
  size_t left = 0;
  {
    std::lock_guard lock(mu_);
    left = pending_.size();
  }
  if (left > 0) {
    spdlog::warn("AMQP publisher stopped with {} unconfirmed message(s); they are dropped", left);
  }
}

bool AmqpPublisher::sendQueued() {
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
      if (sent_ >= pending_.size() || loop_.stoppingLocked()) {
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
    const int status = amqp_basic_publish(
        loop_.connection().state(), kChannel, amqp_empty_bytes, bytesOf(settings_.topic),
        /*mandatory=*/0, /*immediate=*/0, &props, bytesOf(p->body));
    if (status != AMQP_STATUS_OK) {
      loop_.disconnect(describeStatus("basic.publish", status));
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

bool AmqpPublisher::onMethod(uint32_t method_id, const void* decoded) {
  switch (method_id) {
    case AMQP_BASIC_ACK_METHOD: {
      const auto* ack = static_cast<const amqp_basic_ack_t*>(decoded);
      if (!handleAck(ack->delivery_tag, ack->multiple != 0)) {
        loop_.disconnect("broker confirmed a delivery tag we never used");
        return false;
      }
      return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
      // The broker could not store the message(s). Reconnecting republishes everything
      // unconfirmed in order, with backoff if it keeps refusing.
      const auto* nack = static_cast<const amqp_basic_nack_t*>(decoded);
      metrics_->nacks.add();
      loop_.disconnect(fmt::format("broker nacked delivery tag {}{}", nack->delivery_tag,
                                   nack->multiple ? " and earlier" : ""));
      return false;
    }
    default:
      return true;  // basic.return cannot happen (mandatory=0); anything else is informational
  }
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
    loop_.markProgress();
    metrics_->confirmed.add(retired);
    metrics_->unconfirmed.set(static_cast<int64_t>(pending_.size()));
    confirmed_cv_.notify_all();
  }
  return true;
}

}  // namespace nm
