// AmqpPublisher / AmqpConsumer against a real RabbitMQ broker (tests/servers/rabbitmq.sh):
// TLS with a client certificate and an encrypted key, the original daemon's wire form, clean TLS
// failures, redelivery of unacknowledged messages, heartbeats, and broker restarts.
#include <amqp.h>
#include <amqp_framing.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "sinks/rabbitmq/amqp_connection.h"
#include "sinks/rabbitmq/amqp_settings.h"
#include "sinks/rabbitmq/consumer.h"
#include "sinks/rabbitmq/publisher.h"

namespace nm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kServerBinary = "/usr/lib/rabbitmq/bin/rabbitmq-server";

// Runs the broker script; returns its exit status and stdout.
int runScript(const std::string& command, const std::string& dir, std::string* out = nullptr) {
  const std::string cmd = std::string("'") + NM_RABBITMQ_SCRIPT + "' " + command + " '" + dir + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    return -1;
  }
  char buf[256];
  std::string text;
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
    text.append(buf, n);
  }
  const int status = ::pclose(pipe);
  if (out != nullptr) {
    *out = text;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::map<std::string, std::string> readEnvFile(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) {
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return env;
}

template <class Predicate>
bool pollUntil(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

uint64_t metric(MetricsRegistry& m, const char* name, const char* role, const char* kind) {
  MetricLabels labels{{"role", role}};
  if (kind != nullptr) {
    labels.emplace_back("kind", kind);
  }
  return m.counter(name, "", labels).value();
}
uint64_t errors(MetricsRegistry& m, const char* role, const char* kind) {
  return metric(m, "netmicroscope_amqp_errors_total", role, kind);
}
uint64_t messages(MetricsRegistry& m, const char* role, const char* kind) {
  return metric(m, "netmicroscope_amqp_messages_total", role, kind);
}
uint64_t connects(MetricsRegistry& m, const char* role) {
  return metric(m, "netmicroscope_amqp_connects_total", role, nullptr);
}

// A TA-like line carrying its sequence number.
std::string taLine(int seq) {
  return "{\"Info\":{\"TsStart\":" + std::to_string(1700000000 + seq) +
         ",\"TsEnd\":" + std::to_string(1700000005 + seq) + ",\"Seq\":" + std::to_string(seq) +
         "},\"TrafficData\":{\"Data\":[]}}";
}

// Publishes taLine(from) .. taLine(to - 1) and waits for their confirms.
void publishSequence(AmqpPublisher& publisher, int from, int to,
                     std::chrono::milliseconds timeout = 10s) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(publisher.publish(taLine(i), "site")) << "message " << i;
  }
  ASSERT_TRUE(publisher.waitForConfirms(timeout)) << publisher.lastError();
}

int seqOf(const std::string& body) {
  const size_t at = body.find("\"Seq\":");
  return at == std::string::npos ? -1 : std::atoi(body.c_str() + at + 6);
}

class RabbitMqTest : public ::testing::Test {
 protected:
  struct Broker {
    std::string dir;
    bool owned = false;  // started by this process (else the ctest fixture's)
    std::map<std::string, std::string> env;
    std::string skip;   // non-empty: skip every test with this reason
    std::string error;  // non-empty: fail every test with this reason
  };
  static inline Broker* broker_ = nullptr;

  static void SetUpTestSuite() {
    broker_ = new Broker;
    if (::access(kServerBinary, X_OK) != 0) {
      broker_->skip = std::string(kServerBinary) + " is not installed";
      return;
    }
    if (const char* shared = std::getenv("NM_RABBITMQ_DIR"); shared != nullptr && *shared) {
      broker_->dir = shared;
    } else {
      char tmpl[] = "/tmp/nm-rabbitmq-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) {
        broker_->error = "mkdtemp failed";
        return;
      }
      broker_->dir = tmpl;
      broker_->owned = true;
      const auto started = Clock::now();
      std::string ports;
      if (runScript("start", broker_->dir, &ports) != 0) {
        broker_->error = "rabbitmq.sh start failed; see " + broker_->dir + "/log";
        return;
      }
      std::cout
          << "[ broker   ] started in " << broker_->dir << ", ports " << ports
          << "[ broker   ] start took "
          << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
          << " ms\n";
    }
    broker_->env = readEnvFile(broker_->dir + "/env");
    if (broker_->env.count("RABBITMQ_SSL_PORT") == 0) {
      broker_->error = "no broker environment in " + broker_->dir + "/env";
    }
  }

  static void TearDownTestSuite() {
    if (broker_ != nullptr && broker_->owned) {
      runScript("stop", broker_->dir);
      std::error_code ec;
      std::filesystem::remove_all(broker_->dir, ec);
    }
    delete broker_;
    broker_ = nullptr;
  }

  void SetUp() override {
    if (!broker_->skip.empty()) {
      GTEST_SKIP() << "SKIPPED: RabbitMQ tests need a broker: " << broker_->skip;
    }
    ASSERT_TRUE(broker_->error.empty()) << broker_->error;
  }

  static std::string env(const std::string& key) { return broker_->env.at(key); }

  // A queue of its own for every test (the broker may be shared by several test processes).
  static std::string topic(const std::string& name) {
    return "nmtest." + name + "." + std::to_string(::getpid());
  }

  static AmqpSettings tlsSettings(const std::string& queue) {
    AmqpSettings s;
    s.host = env("RABBITMQ_SSL_HOST");
    s.port = static_cast<uint16_t>(std::stoi(env("RABBITMQ_SSL_PORT")));
    s.user = env("RABBITMQ_SSL_USER");
    s.password = env("RABBITMQ_SSL_PASS");
    s.topic = queue;
    s.tls = true;
    s.ca_file = env("RABBITMQ_SSL_CACERTFILE");
    s.cert_file = env("RABBITMQ_SSL_CERTFILE");
    s.key_file = env("RABBITMQ_SSL_PKEYFILE");
    s.key_password = env("RABBITMQ_SSL_CERTPASS");
    s.connect_timeout = 3s;
    s.backoff_min = 50ms;
    s.backoff_max = 500ms;
    return s;
  }

  static AmqpSettings plainSettings(const std::string& queue) {
    AmqpSettings s = tlsSettings(queue);
    s.tls = false;
    s.port = static_cast<uint16_t>(std::stoi(env("RABBITMQ_AMQP_PORT")));
    return s;
  }

  static bool restartBroker() {
    const auto started = Clock::now();
    const bool ok = runScript("restart", broker_->dir) == 0;
    std::cout
        << "[ broker   ] restart took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
        << " ms\n";
    return ok;
  }

  // Messages in `queue` right now (passive queue.declare over plain AMQP).
  static std::optional<uint32_t> queueDepth(const std::string& queue) {
    amqp_detail::AmqpConnection conn;
    if (!conn.open(plainSettings(queue), amqp_detail::Role::kPublisher)) {
      ADD_FAILURE() << conn.error();
      return std::nullopt;
    }
    amqp_queue_declare_ok_t* ok =
        amqp_queue_declare(conn.state(), amqp_detail::kChannel, amqp_detail::bytesOf(queue), 1, 1,
                           0, 0, amqp_empty_table);
    std::optional<uint32_t> depth;
    if (ok != nullptr) {
      depth = ok->message_count;
    }
    conn.close();
    return depth;
  }

  // Takes `count` deliveries (or fewer if `timeout` passes first). With `ack_each`, acks every
  // delivery as it arrives (needed beyond `prefetch` messages).
  static std::vector<AmqpConsumer::Delivery> take(AmqpConsumer& consumer, size_t count,
                                                  std::chrono::milliseconds timeout,
                                                  bool ack_each = false) {
    std::vector<AmqpConsumer::Delivery> out;
    const auto deadline = Clock::now() + timeout;
    AmqpConsumer::Delivery d;
    while (out.size() < count && Clock::now() < deadline) {
      if (consumer.next(d, 100ms)) {
        if (ack_each) {
          consumer.ack(d);
        }
        out.push_back(std::move(d));
      }
    }
    return out;
  }
};

TEST_F(RabbitMqTest, TlsRoundTripWithClientCertificateAndEncryptedKey) {
  const std::string queue = topic("roundtrip");
  MetricsRegistry metrics;
  constexpr int kCount = 1000;
  std::vector<std::string> bodies;
  std::vector<std::string> deployments;
  {
    AmqpPublisher publisher(tlsSettings(queue), metrics);
    const auto started = Clock::now();
    for (int i = 0; i < kCount; ++i) {
      bodies.push_back(taLine(i));
      // Every 100th message without the header, as an older producer sends it.
      deployments.push_back(i % 100 == 99 ? "" : "site-" + std::to_string(i % 3));
      // Lines arrive from files with their newline; the body must not carry it.
      const std::string line = bodies.back() + (i % 2 == 0 ? "\n" : "\r\n");
      ASSERT_TRUE(publisher.publish(line, deployments.back()));
    }
    ASSERT_TRUE(publisher.waitForConfirms(30s)) << publisher.lastError();
    std::cout
        << "[ figures  ] " << kCount << " messages published and confirmed over TLS in "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
        << " ms\n";
    EXPECT_EQ(publisher.unconfirmed(), 0u);
    EXPECT_TRUE(publisher.connected());
    EXPECT_EQ(messages(metrics, "publisher", "confirmed"), static_cast<uint64_t>(kCount));
    EXPECT_EQ(errors(metrics, "publisher", "connect"), 0u) << publisher.lastError();
  }
  {
    // As the daemon does: take a batch, commit, acknowledge; prefetch (500) bounds what is in
    // flight. Even batches are acknowledged one by one, odd ones with one multiple ack.
    AmqpConsumer consumer(tlsSettings(queue), metrics);
    const auto started = Clock::now();
    constexpr size_t kBatch = 100;
    std::vector<AmqpConsumer::Delivery> got;
    while (got.size() < static_cast<size_t>(kCount)) {
      std::vector<AmqpConsumer::Delivery> batch = take(consumer, kBatch, 10s);
      ASSERT_EQ(batch.size(), kBatch) << "after " << got.size() << ": " << consumer.lastError();
      if ((got.size() / kBatch) % 2 == 0) {
        for (const auto& d : batch) {
          consumer.ack(d);
        }
      } else {
        consumer.ackUpTo(batch.back());
      }
      std::move(batch.begin(), batch.end(), std::back_inserter(got));
    }
    std::cout
        << "[ figures  ] " << kCount << " messages consumed and acknowledged over TLS in "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
        << " ms\n";
    for (int i = 0; i < kCount; ++i) {
      ASSERT_EQ(got[i].body, bodies[i]) << "message " << i;
      ASSERT_EQ(got[i].deployment, deployments[i]) << "message " << i;
      EXPECT_FALSE(got[i].redelivered);
    }
    ASSERT_TRUE(pollUntil(
        [&] { return messages(metrics, "consumer", "acked") == static_cast<uint64_t>(kCount); },
        10s));
    EXPECT_EQ(errors(metrics, "consumer", "stale_ack"), 0u);
    EXPECT_EQ(errors(metrics, "consumer", "connection_lost"), 0u) << consumer.lastError();
  }
  // Nothing left: a fresh sentinel is the first thing the next consumer sees (anything still in
  // the queue, acknowledged or requeued, would come before it).
  {
    AmqpPublisher publisher(tlsSettings(queue), metrics);
    ASSERT_TRUE(publisher.publish("sentinel", "site-x"));
    ASSERT_TRUE(publisher.waitForConfirms(10s));
  }
  AmqpConsumer second(tlsSettings(queue), metrics);
  std::vector<AmqpConsumer::Delivery> rest = take(second, 1, 10s);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].body, "sentinel");
  second.ack(rest[0]);
  EXPECT_EQ(queueDepth(queue), std::optional<uint32_t>(0));
}

TEST_F(RabbitMqTest, WireFormMatchesTheOriginalDaemon) {
  const std::string queue = topic("wire");
  MetricsRegistry metrics;
  {
    AmqpPublisher publisher(tlsSettings(queue), metrics);
    ASSERT_TRUE(publisher.publish(taLine(7) + "\n", "site-a"));
    ASSERT_TRUE(publisher.waitForConfirms(10s)) << publisher.lastError();
  }
  amqp_detail::AmqpConnection raw;
  ASSERT_TRUE(raw.open(plainSettings(queue), amqp_detail::Role::kPublisher)) << raw.error();
  amqp_basic_get(raw.state(), amqp_detail::kChannel, amqp_detail::bytesOf(queue), /*no_ack=*/1);
  amqp_rpc_reply_t reply = amqp_get_rpc_reply(raw.state());
  ASSERT_EQ(reply.reply_type, AMQP_RESPONSE_NORMAL);
  ASSERT_EQ(reply.reply.id, static_cast<amqp_method_number_t>(AMQP_BASIC_GET_OK_METHOD));
  const auto* get = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
  EXPECT_EQ(amqp_detail::viewOf(get->exchange), "");  // default exchange
  EXPECT_EQ(amqp_detail::viewOf(get->routing_key), queue);
  amqp_message_t msg{};
  reply = amqp_read_message(raw.state(), amqp_detail::kChannel, &msg, 0);
  ASSERT_EQ(reply.reply_type, AMQP_RESPONSE_NORMAL);
  EXPECT_EQ(amqp_detail::viewOf(msg.body), taLine(7));
  ASSERT_TRUE(msg.properties._flags & AMQP_BASIC_DELIVERY_MODE_FLAG);
  EXPECT_EQ(msg.properties.delivery_mode, 2);
  ASSERT_TRUE(msg.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG);
  EXPECT_EQ(amqp_detail::viewOf(msg.properties.content_type), "application/json");
  ASSERT_TRUE(msg.properties._flags & AMQP_BASIC_HEADERS_FLAG);
  ASSERT_EQ(msg.properties.headers.num_entries, 1);
  EXPECT_EQ(amqp_detail::viewOf(msg.properties.headers.entries[0].key), "deployment");
  EXPECT_EQ(msg.properties.headers.entries[0].value.kind, AMQP_FIELD_KIND_UTF8);
  EXPECT_EQ(amqp_detail::viewOf(msg.properties.headers.entries[0].value.value.bytes), "site-a");
  amqp_destroy_message(&msg);

  // An old producer's message (pika: body only, no properties) reaches the consumer with an
  // empty deployment.
  amqp_basic_properties_t props{};
  ASSERT_EQ(amqp_basic_publish(raw.state(), amqp_detail::kChannel, amqp_empty_bytes,
                               amqp_detail::bytesOf(queue), 0, 0, &props,
                               amqp_detail::bytesOf(taLine(8))),
            AMQP_STATUS_OK);
  raw.close();
  AmqpConsumer consumer(tlsSettings(queue), metrics);
  std::vector<AmqpConsumer::Delivery> got = take(consumer, 1, 10s);
  ASSERT_EQ(got.size(), 1u) << consumer.lastError();
  EXPECT_EQ(got[0].body, taLine(8));
  EXPECT_EQ(got[0].deployment, "");
  consumer.ack(got[0]);
}

// The client must give up cleanly: a clear error, no connection, nothing confirmed, and the
// destructor returns within about one connect timeout.
void expectCleanFailure(const AmqpSettings& settings, std::initializer_list<const char*> needles) {
  MetricsRegistry metrics;
  std::string error;
  const auto started = Clock::now();
  {
    AmqpPublisher publisher(settings, metrics);
    ASSERT_TRUE(publisher.publish("x", "site"));
    ASSERT_TRUE(
        pollUntil([&] { return !publisher.lastError().empty(); }, settings.connect_timeout + 2s));
    error = publisher.lastError();
    EXPECT_FALSE(publisher.connected());
    EXPECT_FALSE(publisher.waitForConfirms(200ms));
    EXPECT_EQ(publisher.unconfirmed(), 1u);
    EXPECT_GE(errors(metrics, "publisher", "connect"), 1u);
    EXPECT_EQ(connects(metrics, "publisher"), 0u);
  }
  const auto elapsed = Clock::now() - started;
  EXPECT_LT(elapsed, 2 * settings.connect_timeout + 2s);
  std::cout << "[ error    ] " << error << "\n";
  for (const char* needle : needles) {
    EXPECT_NE(error.find(needle), std::string::npos) << "'" << needle << "' not in: " << error;
  }
  // The consumer reports the same way.
  AmqpConsumer consumer(settings, metrics);
  ASSERT_TRUE(
      pollUntil([&] { return !consumer.lastError().empty(); }, settings.connect_timeout + 2s));
  EXPECT_FALSE(consumer.connected());
  AmqpConsumer::Delivery d;
  EXPECT_FALSE(consumer.next(d, 50ms));
  consumer.ack(d);  // a default token: ignored
  EXPECT_EQ(errors(metrics, "consumer", "stale_ack"), 1u);
}

TEST_F(RabbitMqTest, TlsWithoutClientCertificateFailsCleanly) {
  AmqpSettings s = tlsSettings(topic("nocert"));
  s.cert_file.clear();
  s.key_file.clear();
  s.key_password.clear();
  // TLS 1.3: the broker refuses the missing certificate after our side of the handshake, so the
  // error surfaces at login with the broker's alert.
  expectCleanFailure(s, {"login", "client certificate"});
}

TEST_F(RabbitMqTest, TlsWithUntrustedCaFailsCleanly) {
  // We do not trust the broker's CA.
  AmqpSettings s = tlsSettings(topic("rogueca"));
  s.ca_file = env("RABBITMQ_TEST_ROGUE_CA");
  expectCleanFailure(s, {"TLS connect", "certificate verify failed"});
  // The broker does not trust our client certificate's CA.
  s = tlsSettings(topic("roguecert"));
  s.cert_file = env("RABBITMQ_TEST_ROGUE_CERTFILE");
  s.key_file = env("RABBITMQ_TEST_ROGUE_PKEYFILE");
  s.key_password.clear();
  expectCleanFailure(s, {"login", "refused our client certificate"});
}

TEST_F(RabbitMqTest, HostnameVerificationUsesDnsNames) {
  // The broker's certificate names localhost and 127.0.0.1 (IP SAN), but rabbitmq-c 0.11
  // matches `host` against DNS names only (X509_check_host), as amqp_settings.h documents.
  AmqpSettings s = tlsSettings(topic("hostname"));
  s.host = "127.0.0.1";
  expectCleanFailure(s, {"TLS connect", "hostname"});
}

TEST_F(RabbitMqTest, WrongKeyPasswordFailsCleanly) {
  AmqpSettings s = tlsSettings(topic("badpass"));
  s.key_password = "not-the-password";
  expectCleanFailure(s, {"cannot read client key", "RABBITMQ_SSL_CERTPASS"});
  s.key_password.clear();
  expectCleanFailure(s, {"cannot read client key"});
}

TEST_F(RabbitMqTest, SettingsErrorsAreReportedTogether) {
  AmqpSettings s;
  s.host.clear();
  s.cert_file = "/nonexistent/client.pem";
  s.prefetch = 0;
  const std::vector<std::string> errors = amqpSettingsErrors(s);
  // host, user, topic, cert without key, unreadable cert, prefetch
  EXPECT_EQ(errors.size(), 6u);
  EXPECT_TRUE(amqpSettingsErrors(tlsSettings("q")).empty());
}

TEST_F(RabbitMqTest, UnackedMessagesAreRedeliveredToTheNextConsumer) {
  const std::string queue = topic("redeliver");
  MetricsRegistry metrics;
  constexpr int kCount = 50;
  {
    AmqpPublisher publisher(tlsSettings(queue), metrics);
    ASSERT_NO_FATAL_FAILURE(publishSequence(publisher, 0, kCount));
  }
  {
    AmqpConsumer first(tlsSettings(queue), metrics);
    std::vector<AmqpConsumer::Delivery> got = take(first, kCount, 10s);
    ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
    // Taken, never acknowledged; the connection closes with the consumer.
  }
  AmqpConsumer second(tlsSettings(queue), metrics);
  std::vector<AmqpConsumer::Delivery> again = take(second, kCount, 10s);
  ASSERT_EQ(again.size(), static_cast<size_t>(kCount)) << second.lastError();
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(seqOf(again[i].body), i);
    EXPECT_TRUE(again[i].redelivered);
  }
  EXPECT_EQ(messages(metrics, "consumer", "redelivered"), static_cast<uint64_t>(kCount));
  // Acking twice, or behind a multiple ack, must not upset the broker (it would close the
  // channel for an unknown tag).
  second.ack(again[0]);
  second.ack(again[0]);
  second.ackUpTo(again[kCount - 1]);
  second.ack(again[10]);
  ASSERT_TRUE(pollUntil(
      [&] { return messages(metrics, "consumer", "acked") == static_cast<uint64_t>(kCount); }, 5s));
  ASSERT_TRUE(pollUntil([&] { return errors(metrics, "consumer", "stale_ack") == 2u; }, 5s));
  EXPECT_EQ(queueDepth(queue), std::optional<uint32_t>(0));
  EXPECT_TRUE(second.connected());
  EXPECT_EQ(errors(metrics, "consumer", "connection_lost"), 0u) << second.lastError();
}

TEST_F(RabbitMqTest, IdleConsumerKeepsItsConnectionThroughHeartbeats) {
  const std::string queue = topic("idle");
  MetricsRegistry metrics;
  AmqpSettings s = tlsSettings(queue);
  s.heartbeat_s = 1;  // the broker closes a connection after two missed heartbeats
  AmqpConsumer consumer(s, metrics);
  ASSERT_TRUE(pollUntil([&] { return consumer.connected(); }, 10s)) << consumer.lastError();
  // Idle, and the caller does not call into the consumer at all: the I/O thread must keep
  // the heartbeats going. (The sleep is the idle period under test, not a synchronisation.)
  std::this_thread::sleep_for(4s);
  AmqpPublisher publisher(s, metrics);
  ASSERT_TRUE(publisher.publish("after-idle", "site"));
  ASSERT_TRUE(publisher.waitForConfirms(10s));
  std::vector<AmqpConsumer::Delivery> got = take(consumer, 1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "after-idle");
  consumer.ack(got[0]);
  EXPECT_EQ(connects(metrics, "consumer"), 1u);
  EXPECT_EQ(errors(metrics, "consumer", "connection_lost"), 0u) << consumer.lastError();
}

TEST_F(RabbitMqTest, PublisherRepublishesUnconfirmedAcrossBrokerRestart) {
  const std::string queue = topic("pubrestart");
  MetricsRegistry metrics;
  constexpr int kCount = 5000;
  constexpr int kRestartAt = 1000;
  AmqpPublisher publisher(tlsSettings(queue), metrics);
  std::atomic<bool> restart_requested{false};
  std::atomic<bool> restarted{false};
  std::thread restarter([&] {
    while (!restart_requested.load()) {
      std::this_thread::sleep_for(1ms);
    }
    restarted = restartBroker();
  });
  // Paced at about one message per millisecond so that publishing spans the restart: some
  // messages are confirmed before it, some are in flight when the broker stops, and the rest are
  // published while it is down.
  int accepted = 0;
  for (int i = 0; i < kCount; ++i) {
    if (i == kRestartAt) {
      restart_requested = true;
    }
    accepted += publisher.publish(taLine(i), "site") ? 1 : 0;
    std::this_thread::sleep_for(1ms);
  }
  const size_t unconfirmed_at_end = publisher.unconfirmed();
  restarter.join();
  ASSERT_TRUE(restarted.load()) << "broker restart failed";
  ASSERT_EQ(accepted, kCount);
  ASSERT_TRUE(publisher.waitForConfirms(60s)) << publisher.lastError();
  EXPECT_EQ(publisher.unconfirmed(), 0u);
  EXPECT_GE(connects(metrics, "publisher"), 2u);
  EXPECT_GE(errors(metrics, "publisher", "connection_lost"), 1u);

  const std::optional<uint32_t> depth = queueDepth(queue);
  ASSERT_TRUE(depth.has_value());
  ASSERT_GE(*depth, static_cast<uint32_t>(kCount));
  AmqpConsumer consumer(tlsSettings(queue), metrics);
  std::vector<AmqpConsumer::Delivery> got = take(consumer, *depth, 30s, /*ack_each=*/true);
  ASSERT_EQ(got.size(), *depth);
  std::vector<int> seen(kCount, 0);
  for (const auto& d : got) {
    const int seq = seqOf(d.body);
    ASSERT_GE(seq, 0);
    ASSERT_LT(seq, kCount);
    ++seen[static_cast<size_t>(seq)];
  }
  for (int i = 0; i < kCount; ++i) {
    ASSERT_GE(seen[static_cast<size_t>(i)], 1) << "sequence " << i << " lost";
  }
  ASSERT_TRUE(pollUntil([&] { return queueDepth(queue) == std::optional<uint32_t>(0); }, 10s));
  const uint64_t duplicates = *depth - static_cast<uint64_t>(kCount);
  std::cout << "[ figures  ] restart during " << kCount << " publishes: " << *depth
            << " messages in the queue, " << duplicates << " duplicate(s); "
            << messages(metrics, "publisher", "republished") << " republished, "
            << unconfirmed_at_end << " unconfirmed when publishing ended, "
            << connects(metrics, "publisher") << " connections\n";
  RecordProperty("duplicates", static_cast<int>(duplicates));
}

TEST_F(RabbitMqTest, ConsumerSurvivesBrokerRestart) {
  const std::string queue = topic("consrestart");
  MetricsRegistry metrics;
  constexpr int kBefore = 200;
  constexpr int kAfter = 100;
  AmqpPublisher publisher(tlsSettings(queue), metrics);
  ASSERT_NO_FATAL_FAILURE(publishSequence(publisher, 0, kBefore));

  AmqpConsumer consumer(tlsSettings(queue), metrics);
  std::vector<AmqpConsumer::Delivery> first = take(consumer, 100, 10s);
  ASSERT_EQ(first.size(), 100u);
  consumer.ackUpTo(first[49]);  // 0..49 done, 50..99 taken but not acknowledged
  ASSERT_TRUE(pollUntil([&] { return messages(metrics, "consumer", "acked") == 50u; }, 5s));

  ASSERT_TRUE(restartBroker());
  ASSERT_TRUE(
      pollUntil([&] { return connects(metrics, "consumer") >= 2 && consumer.connected(); }, 30s))
      << consumer.lastError();
  // Tokens from before the restart are ignored: the broker redelivers those messages.
  const uint64_t stale_before = errors(metrics, "consumer", "stale_ack");
  consumer.ack(first[60]);
  consumer.ackUpTo(first[99]);
  EXPECT_EQ(errors(metrics, "consumer", "stale_ack"), stale_before + 2);

  ASSERT_NO_FATAL_FAILURE(publishSequence(publisher, kBefore, kBefore + kAfter, 30s));

  // Everything not acknowledged before the restart arrives: 50..299 at least once.
  std::set<int> missing;
  for (int i = 50; i < kBefore + kAfter; ++i) {
    missing.insert(i);
  }
  std::set<int> seen;
  size_t total = 0;
  AmqpConsumer::Delivery d;
  const auto deadline = Clock::now() + 30s;
  while (!missing.empty() && Clock::now() < deadline) {
    if (consumer.next(d, 100ms)) {
      ++total;
      seen.insert(seqOf(d.body));
      missing.erase(seqOf(d.body));
      consumer.ack(d);
    }
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " message(s) missing after the restart, first "
                               << (missing.empty() ? -1 : *missing.begin());
  std::cout << "[ figures  ] consumer after restart: " << total << " deliveries for " << seen.size()
            << " distinct messages; " << messages(metrics, "consumer", "discarded")
            << " discarded at disconnect\n";
  EXPECT_TRUE(consumer.connected());
}

}  // namespace
}  // namespace nm
