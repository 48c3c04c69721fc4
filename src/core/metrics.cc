#include "core/metrics.h"

#include <fmt/format.h>

#include <cstdlib>

namespace nm {
namespace {

void appendEscapedLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

MetricsRegistry::Series& MetricsRegistry::series(std::string_view name, std::string_view help,
                                                 MetricType type, MetricLabels labels) {
  std::lock_guard lock(mu_);
  for (Series& s : series_) {
    if (s.name == name) {
      if (s.type != type) {
        std::abort();  // one name, one type: a programming error
      }
      if (s.labels == labels) {
        return s;
      }
    }
  }
  Series& s = series_.emplace_back();
  s.name = name;
  s.help = help;
  s.type = type;
  s.labels = std::move(labels);
  return s;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  MetricLabels labels) {
  return series(name, help, MetricType::kCounter, std::move(labels)).counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, MetricLabels labels) {
  return series(name, help, MetricType::kGauge, std::move(labels)).gauge;
}

void MetricsRegistry::forEach(const std::function<void(const MetricSample&)>& visit) const {
  std::lock_guard lock(mu_);
  std::vector<bool> done(series_.size(), false);
  for (size_t i = 0; i < series_.size(); ++i) {
    if (done[i]) {
      continue;
    }
    for (size_t j = i; j < series_.size(); ++j) {
      const Series& s = series_[j];
      if (done[j] || s.name != series_[i].name) {
        continue;
      }
      done[j] = true;
      const double value = s.type == MetricType::kCounter ? static_cast<double>(s.counter.value())
                                                          : static_cast<double>(s.gauge.value());
      visit({s.name, series_[i].help, s.type, s.labels, value});
    }
  }
}

std::string MetricsRegistry::renderPrometheus() const {
  std::string out;
  std::string_view last_name;
  forEach([&](const MetricSample& m) {
    if (m.name != last_name) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", m.name, m.help, m.name,
                         m.type == MetricType::kCounter ? "counter" : "gauge");
      last_name = m.name;
    }
    out += m.name;
    if (!m.labels.empty()) {
      out.push_back('{');
      for (size_t i = 0; i < m.labels.size(); ++i) {
        if (i > 0) {
          out.push_back(',');
        }
        out += m.labels[i].first;
        out += "=\"";
        appendEscapedLabelValue(out, m.labels[i].second);
        out.push_back('"');
      }
      out.push_back('}');
    }
    out += fmt::format(" {}\n", m.value);
  });
  return out;
}

}  // namespace nm
