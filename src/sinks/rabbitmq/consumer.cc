#include "sinks/rabbitmq/consumer.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "sinks/rabbitmq/amqp_connection.h"

namespace nm {

using amqp_detail::describeReply;
using amqp_detail::describeStatus;
using amqp_detail::kChannel;
using amqp_detail::Role;
using amqp_detail::viewOf;

namespace {

// Frames handled per round before sending queued acks again.
constexpr size_t kReadBatch = 256;

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
      : loop(r, Role::kConsumer),
        stale_acks(loop.error("stale_ack")),
        delivered(loop.message("delivered")),
        redelivered(loop.message("redelivered")),
        acked(loop.message("acked")),
        discarded(loop.message("discarded")) {}

  amqp_detail::LoopMetrics loop;  // first: connects and connection errors register first
  Counter& stale_acks;
  Counter& delivered;
  Counter& redelivered;
  Counter& acked;
  Counter& discarded;
};

AmqpConsumer::AmqpConsumer(AmqpSettings settings, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      metrics_(std::make_unique<Metrics>(metrics)),
      loop_(settings_, metrics_->loop, *this, mu_, kReadBatch) {
  loop_.start();
}

AmqpConsumer::~AmqpConsumer() {
  loop_.stop();
  ready_cv_.notify_all();
}

bool AmqpConsumer::next(Delivery& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  ready_cv_.wait_for(lock, timeout, [&] { return !ready_.empty() || loop_.stoppingLocked(); });
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
    if (!loop_.connectedLocked() || delivery.token.generation_ != generation_) {
      metrics_->stale_acks.add();
      return;
    }
    acks_.push_back(Ack{delivery.token.generation_, delivery.token.tag_, multiple});
  }
  loop_.notify();
}

bool AmqpConsumer::connected() const {
  return loop_.connected();
}

std::string AmqpConsumer::lastError() const {
  return loop_.lastError();
}

std::string AmqpConsumer::onConnectedLocked() {
  unacked_.clear();
  ++generation_;
  return fmt::format("prefetch {}", settings_.prefetch);
}

std::string AmqpConsumer::onDisconnectedLocked() {
  const size_t unacked = unacked_.size();
  unacked_.clear();
  metrics_->discarded.add(ready_.size());
  ready_.clear();
  acks_.clear();
  return fmt::format("the broker redelivers its {} unacknowledged message(s)", unacked);
}

bool AmqpConsumer::hasQueuedLocked() const {
  return !acks_.empty();
}

bool AmqpConsumer::sendQueued() {
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
    const int status =
        amqp_basic_ack(loop_.connection().state(), kChannel, tag, a.multiple ? 1 : 0);
    if (status != AMQP_STATUS_OK) {
      loop_.disconnect(describeStatus("basic.ack", status));
      return false;
    }
    metrics_->acked.add(count);
  }
  return true;
}

bool AmqpConsumer::onMethod(uint32_t method_id, const void* decoded) {
  switch (method_id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* d = static_cast<const amqp_basic_deliver_t*>(decoded);
      return readDelivery(d->delivery_tag, d->redelivered != 0);
    }
    case AMQP_BASIC_CANCEL_METHOD:
      // The broker cancelled our consumer (queue deleted): reconnecting declares it again.
      loop_.disconnect("broker cancelled the consumer (queue deleted?)");
      return false;
    default:
      return true;
  }
}

bool AmqpConsumer::readDelivery(uint64_t tag, bool redelivered) {
  amqp_message_t message{};
  // The header and body frames follow the deliver frame at once; rabbitmq-c waits for them
  // with heartbeat checks.
  const amqp_rpc_reply_t reply =
      amqp_read_message(loop_.connection().state(), kChannel, &message, 0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    loop_.disconnect(describeReply("reading a delivery", reply));
    return false;
  }
  Delivery d;
  d.body.assign(viewOf(message.body));
  d.deployment = deploymentHeader(message.properties);
  d.redelivered = redelivered;
  amqp_destroy_message(&message);

  loop_.markProgress();
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

}  // namespace nm
