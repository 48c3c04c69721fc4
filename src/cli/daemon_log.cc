#include "cli/daemon_log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <vector>

namespace nm::cli {
namespace {

// Python logging's level names, which the original printed.
class PythonLevelName final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name = "INFO";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        name = "DEBUG";
        break;
      case spdlog::level::warn:
        name = "WARNING";
        break;
      case spdlog::level::err:
        name = "ERROR";
        break;
      case spdlog::level::critical:
        name = "CRITICAL";
        break;
      default:
        break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PythonLevelName>();
  }
};

}  // namespace

bool setupDaemonLogging(const std::string& log_file, bool also_stderr, std::string& error) {
  std::vector<spdlog::sink_ptr> sinks;
  if (!log_file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, false));
    } catch (const spdlog::spdlog_ex& e) {
      error = e.what();
      return false;
    }
  }
  if (log_file.empty() || also_stderr) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  }
  auto logger = std::make_shared<spdlog::logger>("appmonitor", sinks.begin(), sinks.end());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PythonLevelName>('*').set_pattern(
      "%Y-%m-%dT%H:%M:%S.%e %* {appmonitor} [printF] %v");
  logger->set_formatter(std::move(formatter));
  // Warnings reach the file at once; info lines (one per device and application per record, as
  // the original) within a second: a write per line would cost more than the ingest itself.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  return true;
}

}  // namespace nm::cli
