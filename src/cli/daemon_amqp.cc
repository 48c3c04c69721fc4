// NMD_MODE=producer and consumer: the probe-side daemon relays TA lines to RabbitMQ, the central
// one consumes them. Each side advances (checkpoint / ack) only once the next hop has the data.

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "cli/daemon_loops.h"
#include "daemon/checkpoint.h"
#include "daemon/ta_tailer.h"
#include "sinks/rabbitmq/consumer.h"
#include "sinks/rabbitmq/publisher.h"

namespace nm::cli {
namespace {

using Clock = std::chrono::steady_clock;

AmqpSettings amqpSettings(const RabbitMqConfig& c) {
  AmqpSettings s;
  s.host = c.host;
  s.port = c.port;
  s.user = c.user;
  s.password = c.password;
  s.vhost = c.vhost;
  s.topic = c.topic;
  s.tls = c.tls;
  s.ca_file = c.ca_file;
  s.cert_file = c.cert_file;
  s.key_file = c.key_file;
  s.key_password = c.key_password;
  s.verify_peer = c.verify;
  s.verify_hostname = c.verify;
  return s;
}

bool settingsUsable(const AmqpSettings& s) {
  const std::vector<std::string> errors = amqpSettingsErrors(s);
  for (const std::string& e : errors) {
    spdlog::error("RabbitMQ: {}", e);
  }
  return errors.empty();
}

bool loadOrEmpty(const LoopContext& ctx, Checkpoint& cp) {
  std::string error;
  if (!ctx.checkpoint_path.empty() && !loadCheckpoint(ctx.checkpoint_path, cp, error)) {
    spdlog::error("{} (move it away to start from scratch)", error);
    return false;
  }
  return true;
}

void save(const LoopContext& ctx, const Checkpoint& cp) {
  std::string error;
  if (!ctx.checkpoint_path.empty() && !saveCheckpoint(ctx.checkpoint_path, cp, error)) {
    spdlog::error("checkpoint: {}", error);
  }
}

// Settings checked and the checkpoint read; the process exit code on failure, else 0.
int prepare(const LoopContext& ctx, AmqpSettings& settings, Checkpoint& cp) {
  settings = amqpSettings(ctx.config.rabbitmq);
  if (!settingsUsable(settings)) {
    return 2;
  }
  return loadOrEmpty(ctx, cp) ? 0 : 1;
}

}  // namespace

int runProducer(const LoopContext& ctx) {
  AmqpSettings settings;
  Checkpoint cp;
  if (const int rc = prepare(ctx, settings, cp); rc != 0) {
    return rc;
  }
  TaTailerOptions to;
  to.glob = ctx.ta_file.empty() ? ctx.config.daemon.ta_glob : ctx.ta_file;
  to.single_file = !ctx.ta_file.empty();
  TaTailer tailer(to, ctx.metrics);
  tailer.restore(cp.files);
  AmqpPublisher publisher(settings, ctx.metrics);
  Counter& rejected = ctx.metrics.counter("netmicroscope_producer_rejected_lines_total",
                                          "TA lines not published because they do not parse");
  spdlog::info("TAHandler {} is running (publishing to {}:{} queue {}).", to.glob, settings.host,
               settings.port, settings.topic);

  const auto interval = std::chrono::milliseconds(ctx.config.daemon.commit_interval_ms);
  auto last = Clock::now();
  TaRecord scratch;
  bool moved = false;
  // The broker's confirms are the commit: positions are saved only when everything read so far
  // is confirmed, so a crash republishes (the consumer's sinks replace by key).
  auto confirmAndSave = [&](std::chrono::milliseconds wait) {
    const std::vector<TaFilePosition> files = tailer.positions();
    if (!publisher.waitForConfirms(wait)) {
      return false;
    }
    save(ctx, Checkpoint{files, {}});
    moved = false;
    return true;
  };
  while (!ctx.stop.load()) {
    size_t lines = 0;
    if (publisher.unconfirmed() < 100'000) {
      lines = tailer.poll(
          [&](const TaLine& line) {
            // Lines the central daemon would reject anyway are counted here, at the edge.
            if (line.too_long || parseTaLine(line.text, scratch) != TaParseError::kNone) {
              rejected.add();
              return;
            }
            publisher.publish(line.text, ctx.config.deployment);
          },
          1000);
      moved = moved || lines > 0;
    }
    const bool at_end = ctx.once && tailer.caughtUp();
    if (moved && (at_end || Clock::now() - last >= interval)) {
      last = Clock::now();
      confirmAndSave(at_end ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0));
    }
    if (at_end && !moved) {
      break;
    }
    if (lines == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const bool confirmed = !moved || confirmAndSave(std::chrono::seconds(ctx.once ? 60 : 10));
  if (!confirmed) {
    spdlog::error("stopping with {} unconfirmed messages; they are republished at the next start",
                  publisher.unconfirmed());
  }
  spdlog::info("netmicroscope daemon stopped");
  return confirmed ? 0 : 1;
}

int runConsumer(const LoopContext& ctx, Pipeline& pipeline) {
  AmqpSettings settings;
  Checkpoint cp;
  if (const int rc = prepare(ctx, settings, cp); rc != 0) {
    return rc;
  }
  pipeline.restoreSummarizers(cp.summarizers);
  AmqpConsumer consumer(settings, ctx.metrics);
  spdlog::info("consuming queue {} on {}:{}", settings.topic, settings.host, settings.port);

  const auto interval = std::chrono::milliseconds(ctx.config.daemon.commit_interval_ms);
  auto last = Clock::now();
  AmqpConsumer::Delivery delivery;
  AmqpConsumer::Delivery last_delivery;
  size_t unacked = 0;
  auto commitAndAck = [&] {
    if (!pipeline.commit()) {
      return false;
    }
    save(ctx, Checkpoint{{}, pipeline.summarizerStates()});
    consumer.ackUpTo(last_delivery);  // only now may the broker forget these messages
    unacked = 0;
    return true;
  };
  bool blocked = false;
  while (!ctx.stop.load()) {
    // At most `prefetch` messages are unacknowledged, so commit before reaching that.
    const bool full = unacked >= settings.prefetch / 2;
    if (!blocked && !full && consumer.next(delivery, std::chrono::milliseconds(100))) {
      pipeline.ingestLine(delivery.body, delivery.deployment);
      std::swap(last_delivery, delivery);
      ++unacked;
    }
    if (unacked > 0 && (full || blocked || Clock::now() - last >= interval)) {
      last = Clock::now();
      blocked = !commitAndAck();
      if (blocked) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
  }
  const auto end = Clock::now() + std::chrono::seconds(10);
  bool durable = unacked == 0 || commitAndAck();
  while (!durable && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    durable = commitAndAck();
  }
  // Unacknowledged messages go back to the queue when the consumer closes: nothing is lost.
  pipeline.finish(std::chrono::seconds(10));
  spdlog::info("netmicroscope daemon stopped");
  return durable ? 0 : 1;
}

}  // namespace nm::cli
