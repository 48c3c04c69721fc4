#pragma once
// A real DNS server for tests: Debian's dnsmasq on 127.0.0.1 at a free port, answering only
// the records it is given (no upstream, no /etc/hosts; reverse zones are local, so any other PTR
// question gets NXDOMAIN). Stopped with the object.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace nm::test {

class Dnsmasq {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dnsmasq";
  static bool available() { return ::access(kBinary, X_OK) == 0; }

  Dnsmasq() = default;
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;
  ~Dnsmasq() { stop(); }

  // `records`: dnsmasq options such as "--ptr-record=1.2.0.192.in-addr.arpa,web.example.org" or
  // "--host-record=big.example.net,198.51.100.7". false with `error` when it does not answer.
  bool start(const std::vector<std::string>& records, uint32_t ttl_s, std::string& error) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = freeUdpPort();
      std::vector<std::string> args = {kBinary,
                                       "--keep-in-foreground",
                                       "--port=" + std::to_string(port_),
                                       "--listen-address=127.0.0.1",
                                       "--bind-interfaces",
                                       "--no-resolv",
                                       "--no-hosts",
                                       "--conf-file=/dev/null",
                                       "--pid-file=",
                                       "--local=/in-addr.arpa/",
                                       "--local=/ip6.arpa/",
                                       "--local-ttl=" + std::to_string(ttl_s),
                                       "--log-facility=/dev/null"};
      args.insert(args.end(), records.begin(), records.end());
      pid_ = spawn(args);
      if (pid_ > 0 && waitReady()) {
        return true;
      }
      stop();  // the port was taken meanwhile, or it refused the options
    }
    error = "dnsmasq did not start (see its options)";
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static int freeUdpPort() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  static pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  // Any answer to a PTR question for 127.0.0.1 (NXDOMAIN here) means it serves.
  bool waitReady() {
    static const uint8_t kQuery[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,
                                     0,    0,    1,    '1',  1,   '0', 1,   '0', 3,   '1',
                                     '2',  '7',  7,    'i',  'n', '-', 'a', 'd', 'd', 'r',
                                     4,    'a',  'r',  'p',  'a', 0,   0,   12,  0,   1};
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: bad options or port taken
        break;
      }
      ::sendto(fd, kQuery, sizeof kQuery, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      uint8_t buf[512];
      ready = ::recv(fd, buf, sizeof buf, 0) >= 12;
    }
    ::close(fd);
    return ready;
  }

  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace nm::test
