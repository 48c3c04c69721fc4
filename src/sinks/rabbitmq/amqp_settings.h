#pragma once
// Where and how NetMicroscope talks AMQP 0-9-1 (RabbitMQ): one queue, used by the probe-side
// AmqpPublisher (publisher.h) and the central AmqpConsumer (consumer.h).
//
// The wire form is the original Python daemon's (pika), so old and new probes and daemons mix:
//   - default exchange (""), routing key = topic, a DURABLE queue named topic, declared by both
//     sides (declaring an existing queue with other arguments fails with PRECONDITION_FAILED,
//     reported as a connect error);
//   - one message per TA line, body = the line without its newline, persistent (delivery_mode 2);
//   - ours add content_type "application/json" and a header `deployment` (longstr, the producer's
//     NMD_DEPLOYMENT); the consumer accepts messages without either.
//
// The original's .env names map to the fields as follows (parsing .env is the daemon's job):
//   RABBITMQ_SSL_HOST -> host          RABBITMQ_SSL_TOPIC    -> topic
//   RABBITMQ_SSL_PORT -> port          RABBITMQ_SSL_CERTFILE -> cert_file (client certificate)
//   RABBITMQ_SSL_USER -> user          RABBITMQ_SSL_PKEYFILE -> key_file  (client key, PEM)
//   RABBITMQ_SSL_PASS -> password      RABBITMQ_SSL_CERTPASS -> key_password
// The original verified the broker against the system's CA store; ca_file overrides it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nm {

struct AmqpSettings {
  std::string host = "localhost";
  uint16_t port = 5671;  // 5671 = AMQPS, 5672 = plain AMQP
  std::string user;
  std::string password;
  std::string vhost = "/";
  std::string topic;  // queue name and routing key

  // TLS. With tls=false everything below up to verify_hostname is ignored.
  bool tls = true;
  std::string ca_file;       // PEM bundle that must have signed the broker; empty: system store
  std::string cert_file;     // client certificate chain (PEM); empty: no client certificate
  std::string key_file;      // its private key (PEM, any algorithm, encrypted or not)
  std::string key_password;  // for an encrypted key_file; never logged
  bool verify_peer = true;   // broker certificate must chain to ca_file / the system store
  // ... and name `host` in a DNS subjectAltName/CN (rabbitmq-c uses X509_check_host, so an IP
  // address `host` does not match an IP SAN: connect by name, or turn this off).
  bool verify_hostname = true;

  int heartbeat_s = 30;     // proposed to the broker; 0 disables heartbeats
  uint16_t prefetch = 500;  // consumer: unacknowledged deliveries the broker may have in flight

  // Each step of a connection attempt (TCP connect, TLS handshake, login, each set-up RPC, the
  // close handshake) must finish within this.
  std::chrono::milliseconds connect_timeout{10000};
  // Reconnect delays: backoff_min after a healthy connection drops, doubling per failed attempt
  // up to backoff_max. Tests inject small values.
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};

  // Publisher: messages held in memory until confirmed; publish() refuses beyond this.
  size_t max_unconfirmed = 1'000'000;
};

// Every problem with `settings` (missing host, topic, a key without a certificate, unreadable
// files, ...), each a full sentence; empty when usable. Reads the files' presence, nothing else.
std::vector<std::string> amqpSettingsErrors(const AmqpSettings& settings);

}  // namespace nm
