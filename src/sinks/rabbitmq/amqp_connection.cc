#include "sinks/rabbitmq/amqp_connection.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

namespace nm {

std::vector<std::string> amqpSettingsErrors(const AmqpSettings& s) {
  std::vector<std::string> errors;
  auto needFile = [&errors](const std::string& path, const char* what) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      errors.push_back(fmt::format("{} '{}' is not a readable file.", what, path));
    }
  };
  if (s.host.empty()) {
    errors.push_back("AMQP host is empty.");
  }
  if (s.port == 0) {
    errors.push_back("AMQP port is 0.");
  }
  if (s.user.empty()) {
    errors.push_back("AMQP user is empty.");
  }
  if (s.topic.empty()) {
    errors.push_back("AMQP topic (queue name) is empty.");
  } else if (s.topic.size() > 255) {
    errors.push_back("AMQP topic is longer than 255 bytes (AMQP's limit for a queue name).");
  }
  if (s.tls) {
    if (!s.ca_file.empty()) {
      needFile(s.ca_file, "AMQP CA file");
    }
    if (s.cert_file.empty() != s.key_file.empty()) {
      errors.push_back("AMQP client certificate and key must be given together.");
    }
    if (!s.cert_file.empty()) {
      needFile(s.cert_file, "AMQP client certificate");
    }
    if (!s.key_file.empty()) {
      needFile(s.key_file, "AMQP client key");
    }
  }
  if (s.heartbeat_s < 0 || s.heartbeat_s > 65535) {
    errors.push_back(fmt::format("AMQP heartbeat {} s is outside 0..65535.", s.heartbeat_s));
  }
  if (s.prefetch == 0) {
    errors.push_back("AMQP prefetch 0 would let the broker flood the consumer; use 1 or more.");
  }
  if (s.connect_timeout.count() <= 0) {
    errors.push_back("AMQP connect timeout must be positive.");
  }
  if (s.backoff_min.count() <= 0 || s.backoff_max < s.backoff_min) {
    errors.push_back("AMQP backoff needs 0 < min <= max.");
  }
  if (s.max_unconfirmed == 0) {
    errors.push_back("AMQP max_unconfirmed must be at least 1.");
  }
  return errors;
}

namespace amqp_detail {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Drains this thread's OpenSSL error queue into "reason; reason".
std::string takeOpenSslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed" -> keep the reason only.
    std::string_view text(buf);
    size_t cut = text.rfind(':');
    if (cut != std::string_view::npos && cut + 1 < text.size()) {
      text.remove_prefix(cut + 1);
    }
    if (out.find(text) != std::string::npos) {
      continue;  // OpenSSL often reports the same reason at several levels
    }
    if (!out.empty()) {
      out += "; ";
    }
    out += text;
  }
  return out;
}

// OpenSSL's passphrase callback: never prompts on a terminal (the default would).
int keyPasswordCallback(char* buf, int size, int /*rwflag*/, void* user) {
  const std::string& password = *static_cast<const std::string*>(user);
  if (password.empty() || password.size() > static_cast<size_t>(size)) {
    return -1;
  }
  std::memcpy(buf, password.data(), password.size());
  return static_cast<int>(password.size());
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

}  // namespace

std::string describeStatus(std::string_view operation, int status) {
  std::string text = fmt::format("{}: {}", operation, amqp_error_string2(status));
  std::string ssl = takeOpenSslErrors();
  if (!ssl.empty()) {
    text += fmt::format(" (OpenSSL: {})", ssl);
  }
  return text;
}

std::string describeReply(std::string_view operation, const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return fmt::format("{}: ok", operation);
    case AMQP_RESPONSE_NONE:
      return fmt::format("{}: no reply from the broker", operation);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return describeStatus(operation, reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      amqp_frame_t frame{};
      frame.frame_type = AMQP_FRAME_METHOD;
      frame.payload.method = reply.reply;
      return fmt::format("{}: {}", operation, describeClose(frame));
    }
  }
  return fmt::format("{}: unknown reply type", operation);
}

std::string describeClose(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    return "unexpected frame";
  }
  const amqp_method_t& m = frame.payload.method;
  if (m.id == AMQP_CONNECTION_CLOSE_METHOD && m.decoded != nullptr) {
    const auto* c = static_cast<const amqp_connection_close_t*>(m.decoded);
    return fmt::format("broker closed the connection: {} {}", c->reply_code, viewOf(c->reply_text));
  }
  if (m.id == AMQP_CHANNEL_CLOSE_METHOD && m.decoded != nullptr) {
    const auto* c = static_cast<const amqp_channel_close_t*>(m.decoded);
    return fmt::format("broker closed the channel: {} {}", c->reply_code, viewOf(c->reply_text));
  }
  return fmt::format("unexpected method 0x{:08x}", m.id);
}

void answerClose(amqp_connection_state_t state, const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    return;
  }
  if (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    amqp_connection_close_ok_t ok{};
    amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
  } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t ok{};
    amqp_send_method(state, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  }
}

bool AmqpConnection::fail(std::string message) {
  error_ = std::move(message);
  abandon();
  return false;
}

bool AmqpConnection::setUpTls(const AmqpSettings& s, amqp_socket_t* socket) {
  auto* ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
  ERR_clear_error();
  amqp_ssl_socket_set_verify_peer(socket, s.verify_peer ? 1 : 0);
  amqp_ssl_socket_set_verify_hostname(socket, s.verify_hostname ? 1 : 0);
  if (s.verify_peer) {
    // rabbitmq-c checks the chain only after the handshake; failing inside it instead gives
    // OpenSSL's reason ("certificate verify failed") and tells the broker why we hang up.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (s.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(fmt::format("TLS: cannot load the system CA store ({})", takeOpenSslErrors()));
    }
  } else if (amqp_ssl_socket_set_cacert(socket, s.ca_file.c_str()) != AMQP_STATUS_OK) {
    return fail(fmt::format("TLS: cannot load CA file '{}' ({})", s.ca_file, takeOpenSslErrors()));
  }
  if (s.cert_file.empty()) {
    return true;
  }
  // rabbitmq-c's own key loaders either abort on an encrypted key (set_key_buffer, RSA only) or
  // keep a pointer to the password for later; decrypting here with OpenSSL gives a clear error
  // now, works for any key type, and keeps the clear key in memory only.
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(s.key_file.c_str(), "r"));
  if (!bio) {
    return fail(
        fmt::format("TLS: cannot open client key '{}' ({})", s.key_file, takeOpenSslErrors()));
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, keyPasswordCallback, const_cast<std::string*>(&s.key_password)));
  if (!key) {
    return fail(fmt::format(
        "TLS: cannot read client key '{}' ({}); is the key password (RABBITMQ_SSL_CERTPASS) "
        "right?",
        s.key_file, takeOpenSslErrors()));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
    return fail(fmt::format("TLS: cannot load client certificate '{}' ({})", s.cert_file,
                            takeOpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return fail(fmt::format("TLS: client key '{}' does not match certificate '{}' ({})", s.key_file,
                            s.cert_file, takeOpenSslErrors()));
  }
  return true;
}

bool AmqpConnection::open(const AmqpSettings& s, Role role) {
  abandon();
  error_.clear();
  state_ = amqp_new_connection();
  if (state_ == nullptr) {
    return fail("cannot allocate an AMQP connection");
  }
  amqp_socket_t* socket = s.tls ? amqp_ssl_socket_new(state_) : amqp_tcp_socket_new(state_);
  if (socket == nullptr) {
    return fail(
        fmt::format("cannot create a {} socket ({})", s.tls ? "TLS" : "TCP", takeOpenSslErrors()));
  }
  if (s.tls && !setUpTls(s, socket)) {
    return false;
  }
  const timeval timeout = toTimeval(s.connect_timeout);
  amqp_set_handshake_timeout(state_, &timeout);
  amqp_set_rpc_timeout(state_, &timeout);

  ERR_clear_error();
  int status = amqp_socket_open_noblock(socket, s.host.c_str(), s.port, &timeout);
  if (status != AMQP_STATUS_OK) {
    return fail(describeStatus(
        fmt::format("{} connect to {}:{}", s.tls ? "TLS" : "TCP", s.host, s.port), status));
  }
  amqp_rpc_reply_t reply =
      amqp_login(state_, s.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, s.heartbeat_s,
                 AMQP_SASL_METHOD_PLAIN, s.user.c_str(), s.password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    std::string text =
        describeReply(fmt::format("login as '{}' to vhost '{}'", s.user, s.vhost), reply);
    // With TLS 1.3 the broker checks our certificate after our side of the handshake finished,
    // so its refusal surfaces here, often only as a dropped connection.
    if (s.tls && reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      text += s.cert_file.empty()
                  ? "; the broker may require a client certificate (none configured)"
                  : "; the broker may have refused our client certificate (is it signed by a CA "
                    "the broker trusts?)";
    }
    return fail(std::move(text));
  }
  amqp_channel_open(state_, kChannel);
  reply = amqp_get_rpc_reply(state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(describeReply("channel.open", reply));
  }
  const amqp_bytes_t queue = bytesOf(s.topic);
  amqp_queue_declare(state_, kChannel, queue, /*passive=*/0, /*durable=*/1, /*exclusive=*/0,
                     /*auto_delete=*/0, amqp_empty_table);
  reply = amqp_get_rpc_reply(state_);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(describeReply(fmt::format("declare durable queue '{}'", s.topic), reply));
  }
  if (role == Role::kPublisher) {
    amqp_confirm_select(state_, kChannel);
    reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return fail(describeReply("confirm.select", reply));
    }
  } else {
    amqp_basic_qos(state_, kChannel, 0, s.prefetch, 0);
    reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return fail(describeReply(fmt::format("basic.qos prefetch {}", s.prefetch), reply));
    }
    amqp_basic_consume(state_, kChannel, queue, amqp_empty_bytes, /*no_local=*/0, /*no_ack=*/0,
                       /*exclusive=*/0, amqp_empty_table);
    reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return fail(describeReply(fmt::format("basic.consume on '{}'", s.topic), reply));
    }
  }
  return true;
}

void AmqpConnection::close() {
  if (state_ == nullptr) {
    return;
  }
  amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  abandon();
}

void AmqpConnection::abandon() {
  if (state_ != nullptr) {
    amqp_destroy_connection(state_);
    state_ = nullptr;
  }
}

int AmqpConnection::fd() const {
  return state_ != nullptr ? amqp_get_sockfd(state_) : -1;
}

int AmqpConnection::heartbeat() const {
  return state_ != nullptr ? amqp_get_heartbeat(state_) : 0;
}

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Wakeup::~Wakeup() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void Wakeup::notify() {
  uint64_t one = 1;
  // EAGAIN only when the counter is saturated: the reader is already due to wake.
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

void Wakeup::drain() {
  uint64_t value = 0;
  [[maybe_unused]] ssize_t n = ::read(fd_, &value, sizeof value);
}

bool waitReadable(int fd, Wakeup& wakeup, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{wakeup.fd(), POLLIN, 0}, {fd, POLLIN, 0}};
  const nfds_t count = fd >= 0 ? 2 : 1;
  int rc = ::poll(fds, count, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  if (rc <= 0) {
    return false;
  }
  if (fds[0].revents != 0) {
    wakeup.drain();
  }
  // POLLHUP/POLLERR count as readable: the read that follows reports the error.
  return count == 2 && fds[1].revents != 0;
}

bool FailureLog::shouldWarn(const std::string& error) {
  const auto now = std::chrono::steady_clock::now();
  ++failures_;
  if (failures_ == 1 || error != last_ || now - last_warning_ >= std::chrono::minutes(1)) {
    last_ = error;
    last_warning_ = now;
    return true;
  }
  return false;
}

uint64_t FailureLog::reset() {
  const uint64_t failures = failures_;
  failures_ = 0;
  last_.clear();
  return failures;
}

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), next_(min_) {}

std::chrono::milliseconds Backoff::next() {
  std::chrono::milliseconds current = next_;
  next_ = std::min(max_, next_ * 2);
  return current;
}

}  // namespace amqp_detail
}  // namespace nm
