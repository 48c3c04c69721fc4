#include "daemon/summary.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>

namespace nm {
namespace {

using PairIndex = std::unordered_map<std::string, size_t>;

std::string pairKey(std::string_view device, std::string_view application) {
  std::string key;
  key.reserve(device.size() + application.size() + 1);
  key.append(device);
  key.push_back('\0');  // a device text (MAC or IP) never holds a NUL, so keys cannot collide
  key.append(application);
  return key;
}

PairIndex indexOf(const std::vector<ApplicationSums>& sums) {
  PairIndex index;
  index.reserve(sums.size());
  for (size_t i = 0; i < sums.size(); ++i) {
    index.emplace(pairKey(sums[i].device, sums[i].application), i);
  }
  return index;
}

void emitPair(const ApplicationSums& s, double dw, double up, int64_t ts_ns,
              std::vector<SummaryPoint>& out) {
  out.push_back({std::string(kKbpsDwMeasurement), s.device, s.application, dw, ts_ns, {}});
  out.push_back({std::string(kKbpsUpMeasurement), s.device, s.application, up, ts_ns, {}});
}

}  // namespace

std::string summaryDeviceKey(const TaFlowEntry& entry) {
  return entry.has_hw_addr ? entry.hw_addr.toString() : entry.device.toString();
}

ApplicationSummarizer::ApplicationSummarizer(SummaryOptions options) : options_(options) {}

std::vector<SummaryPoint> ApplicationSummarizer::add(const TaRecord& record) {
  previous_.swap(current_);
  current_.clear();
  const int64_t previous_ts_end = current_ts_end_;
  current_ts_end_ = record.ts_end;

  PairIndex index;
  for (const TaFlowEntry& e : record.data) {
    std::string device = summaryDeviceKey(e);
    auto [it, inserted] = index.try_emplace(pairKey(device, e.meta), current_.size());
    if (inserted) {
      current_.push_back({std::move(device), e.meta});
    }
    // Plain additions in Data order, as the original's Python loop: the result depends on order.
    ApplicationSums& s = current_[it->second];
    s.kbps_dw += e.kbps_dw;
    s.kbps_up += e.kbps_up;
    s.bytes_dw += e.bytes_dw;
    s.bytes_up += e.bytes_up;
    s.pkts_dw += e.pkts_dw;
    s.pkts_up += e.pkts_up;
    ++s.flows;
  }

  std::vector<SummaryPoint> points;
  points.reserve(current_.size() * 2);
  const int64_t ts_ns = record.ts_end * kNanosPerSecond;
  for (const ApplicationSums& s : current_) {
    emitPair(s, s.kbps_dw, s.kbps_up, ts_ns, points);
  }
  if (options_.zero_fill && has_previous_) {
    const PairIndex previous_index = indexOf(previous_);
    for (const ApplicationSums& s : previous_) {
      if (!index.contains(pairKey(s.device, s.application))) {
        emitPair(s, 0.0, 0.0, ts_ns, points);
      }
    }
    const int64_t previous_ns = previous_ts_end * kNanosPerSecond;
    for (const ApplicationSums& s : current_) {
      if (!previous_index.contains(pairKey(s.device, s.application))) {
        emitPair(s, 0.0, 0.0, previous_ns, points);
      }
    }
  }
  has_previous_ = true;
  return points;
}

SummarizerState ApplicationSummarizer::state() const {
  SummarizerState st;
  st.has_previous = has_previous_;
  st.ts_end = current_ts_end_;
  st.pairs.reserve(current_.size());
  for (const ApplicationSums& s : current_) {
    st.pairs.emplace_back(s.device, s.application);
  }
  return st;
}

void ApplicationSummarizer::restore(const SummarizerState& state) {
  has_previous_ = state.has_previous;
  current_ts_end_ = state.ts_end;
  previous_.clear();
  current_.clear();
  for (const auto& [device, application] : state.pairs) {
    current_.push_back({device, application});
  }
}

std::string pythonFloatRepr(double value) {
  if (std::isnan(value)) {
    return "nan";
  }
  if (std::isinf(value)) {
    return value < 0 ? "-inf" : "inf";
  }
  // Shortest round-trip digits in scientific form ("1.2345e+17"), as Python's repr picks them.
  char buf[64];
  const auto res =
      std::to_chars(buf, buf + sizeof(buf), std::fabs(value), std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') {
      digits.push_back(c);
    }
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  const bool negative_exp = exp_text.front() == '-';
  exp_text.remove_prefix(1);  // to_chars always writes the sign
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  if (negative_exp) {
    exponent = -exponent;
  }

  // Python (format_float_short, mode 'r'): the decimal point sits after `decpt` digits; exponent
  // form when decpt <= -4 or decpt > 16, else fixed with ".0" added to integers.
  const int decpt = exponent + 1;
  std::string out = std::signbit(value) ? "-" : "";
  const auto n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= n) {
    out += digits;
    out.append(static_cast<size_t>(decpt - n), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<size_t>(decpt));
    out += '.';
    out.append(digits, static_cast<size_t>(decpt));
  }
  return out;
}

std::string originalLogLine(std::string_view device, std::string_view application, double kbps_dw,
                            double kbps_up, int64_t ts_end) {
  return fmt::format("{}-{} {{'KbpsDw': {}, 'KbpsUp': {}, 'TsEnd': {}}}", application, device,
                     pythonFloatRepr(kbps_dw), pythonFloatRepr(kbps_up), ts_end);
}

}  // namespace nm
