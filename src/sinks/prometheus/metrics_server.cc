#include "sinks/prometheus/metrics_server.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <thread>

namespace nm {

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

bool parseListenAddress(const std::string& listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view p = std::string_view(listen).substr(colon + 1);
  const auto res = std::from_chars(p.data(), p.data() + p.size(), port);
  return !p.empty() && res.ec == std::errc() && res.ptr == p.data() + p.size() && port >= 0 &&
         port <= 65535 && !host.empty();
}

MetricsServer::MetricsServer(const MetricsRegistry& registry) : impl_(std::make_unique<Impl>()) {
  // httplib's default adds SO_REUSEPORT, which would let a second daemon share the port silently.
  impl_->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  impl_->server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.renderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("netmicroscope daemon: see /metrics\n", "text/plain");
  });
}

MetricsServer::~MetricsServer() {
  stop();
}

bool MetricsServer::start(const std::string& listen, std::string& error) {
  std::string host;
  int port = 0;
  if (!parseListenAddress(listen, host, port)) {
    error = "not HOST:PORT: " + listen;
    return false;
  }
  port_ = port == 0 ? impl_->server.bind_to_any_port(host) : port;
  if (port != 0 && !impl_->server.bind_to_port(host, port)) {
    port_ = -1;
  }
  if (port_ <= 0) {
    error = "cannot listen on " + listen;
    port_ = 0;
    return false;
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // stop() is a no-op until the listener runs; without this wait a quick stop would hang join().
  while (!impl_->server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void MetricsServer::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

}  // namespace nm
