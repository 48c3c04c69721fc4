#include "plugins/c_abi_adapter.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "daemon/sink.h"

namespace nm {

SharedLibrary::~SharedLibrary() {
  if (handle_ != nullptr) {
    dlclose(handle_);
  }
}

SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), path_(std::move(other.path_)) {}

SharedLibrary& SharedLibrary::operator=(SharedLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) {
      dlclose(handle_);
    }
    handle_ = std::exchange(other.handle_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

class CAbiPlugin final : public Plugin {
 public:
  CAbiPlugin(SharedLibrary library, const nm_plugin_v1& descriptor)
      : library_(std::move(library)),
        descriptor_(descriptor),
        name_(descriptor.name),
        priority_(descriptor.priority) {}

  ~CAbiPlugin() override {
    if (self_ != nullptr) {
      descriptor_.destroy(self_);
    }
    // library_ is destroyed (closed) after this body: the plugin's code is gone only then.
  }

  std::string_view name() const override { return name_; }
  int priority() const override { return priority_; }

  bool init(const PluginContext& context, std::string& error) override {
    state_ = context.state;
    deployment_ = context.deployment;
    const MetricLabels base = {{"plugin", name_}};
    auto errors = [&](const char* kind) -> Counter& {
      MetricLabels labels = base;
      labels.emplace_back("kind", kind);
      return context.metrics.counter("netmicroscope_plugin_errors_total",
                                     "Calls of a plugin the host refused, by plugin and kind",
                                     std::move(labels));
    };
    invalid_point_ = &errors("invalid_point");
    invalid_device_name_ = &errors("invalid_device_name");

    host_.abi_version = NM_PLUGIN_ABI_VERSION;
    host_.struct_size = sizeof(nm_host_v1);
    host_.host_data = this;
    host_.deployment = deployment_.c_str();
    host_.log = &CAbiPlugin::hostLog;
    host_.state_get = &CAbiPlugin::stateGet;
    host_.state_put = &CAbiPlugin::statePut;
    host_.state_erase = &CAbiPlugin::stateErase;

    std::vector<const char*> kv;
    kv.reserve(context.settings.size() * 2);
    for (const auto& [key, value] : context.settings) {
      kv.push_back(key.c_str());
      kv.push_back(value.c_str());
    }
    char reason[1024] = {};
    self_ = descriptor_.create(&host_, kv.data(), context.settings.size(), reason, sizeof reason);
    if (self_ == nullptr) {
      reason[sizeof reason - 1] = '\0';  // a plugin that forgot the terminator
      error = reason[0] != '\0' ? std::string(reason) : "create() failed without a reason";
      return false;
    }
    return true;
  }

  void process(RecordSummary& summary) override {
    samples_.resize(summary.samples.size());
    for (size_t i = 0; i < summary.samples.size(); ++i) {
      const DeviceApplicationSample& a = summary.samples[i];
      samples_[i] = {a.device.c_str(),
                     a.device_name.c_str(),
                     a.application.c_str(),
                     a.kbps_dw,
                     a.kbps_up,
                     a.bytes_dw,
                     a.bytes_up,
                     a.pkts_dw,
                     a.pkts_up,
                     a.flows};
    }
    Call call{this, &summary};
    nm_summary_v1 s{};
    s.struct_size = sizeof(nm_summary_v1);
    s.host = &host_;
    s.host_data = &call;
    s.deployment = summary.deployment.c_str();
    s.ts_start = summary.ts_start;
    s.ts_end = summary.ts_end;
    s.samples = samples_.data();
    s.n_samples = samples_.size();
    s.set_device_name = &CAbiPlugin::setName;
    s.add_point = &CAbiPlugin::addPoint;
    descriptor_.process(self_, &s);
  }

  void finish() override {
    if (self_ != nullptr && descriptor_.finish != nullptr) {
      descriptor_.finish(self_);
    }
  }

 private:
  // What the summary's callbacks need: nm_summary_v1::host_data during one process() call.
  struct Call {
    CAbiPlugin* plugin;
    RecordSummary* summary;
  };

  static CAbiPlugin& of(const nm_host_v1* host) {
    return *static_cast<CAbiPlugin*>(host->host_data);
  }

  static void hostLog(const nm_host_v1* host, int level, const char* message) {
    spdlog::level::level_enum l = spdlog::level::info;
    switch (level) {
      case NM_LOG_DEBUG:
        l = spdlog::level::debug;
        break;
      case NM_LOG_WARN:
        l = spdlog::level::warn;
        break;
      case NM_LOG_ERROR:
        l = spdlog::level::err;
        break;
      default:
        break;
    }
    spdlog::log(l, "plugin {}: {}", of(host).name_, message != nullptr ? message : "(null)");
  }

  static int stateGet(const nm_host_v1* host, const char* key, char* value, size_t buffer_len,
                      size_t* value_len) {
    PluginState* state = of(host).state_;
    if (state == nullptr || key == nullptr || value_len == nullptr) {
      return -1;
    }
    const std::optional<std::string> v = state->get(key);
    if (!v) {
      return 0;
    }
    *value_len = v->size();
    if (value != nullptr && buffer_len > v->size()) {
      std::memcpy(value, v->data(), v->size());
      value[v->size()] = '\0';
    }
    return 1;
  }

  static int statePut(const nm_host_v1* host, const char* key, const char* value,
                      size_t value_len) {
    PluginState* state = of(host).state_;
    if (state == nullptr || key == nullptr || (value == nullptr && value_len != 0)) {
      return -1;
    }
    return state->put(key, std::string_view(value, value_len)) ? 0 : -1;
  }

  static int stateErase(const nm_host_v1* host, const char* key) {
    PluginState* state = of(host).state_;
    if (state == nullptr || key == nullptr) {
      return -1;
    }
    return state->erase(key) ? 0 : -1;
  }

  static int setName(nm_summary_v1* s, const char* device_key, const char* name) {
    Call& call = *static_cast<Call*>(s->host_data);
    CAbiPlugin& self = *call.plugin;
    if (device_key == nullptr || name == nullptr || device_key[0] == '\0' || name[0] == '\0') {
      self.refuse(*self.invalid_device_name_, self.logged_invalid_name_,
                  "set_device_name with a null or empty key or name");
      return -1;
    }
    setDeviceName(*call.summary, device_key, name);
    // Assigning may have reallocated names: hand the plugin fresh pointers.
    for (size_t i = 0; i < self.samples_.size(); ++i) {
      self.samples_[i].device_name = call.summary->samples[i].device_name.c_str();
    }
    return 0;
  }

  static int addPoint(nm_summary_v1* s, const nm_point_v1* p) {
    Call& call = *static_cast<Call*>(s->host_data);
    CAbiPlugin& self = *call.plugin;
    ExtraPoint point;
    const char* why = convert(p, call.summary->ts_end, point);
    if (why != nullptr) {
      self.refuse(*self.invalid_point_, self.logged_invalid_point_, why);
      return -1;
    }
    call.summary->extra_points.push_back(std::move(point));
    return 0;
  }

  // nullptr when `p` is a valid point (then in `out`), else why not.
  static const char* convert(const nm_point_v1* p, int64_t ts_end, ExtraPoint& out) {
    if (p == nullptr || p->measurement == nullptr || p->measurement[0] == '\0') {
      return "add_point without a measurement";
    }
    if (p->n_fields == 0 || p->fields == nullptr) {
      return "add_point without fields";
    }
    if (p->n_tags != 0 && p->tags == nullptr) {
      return "add_point with n_tags but no tags";
    }
    out.measurement = p->measurement;
    out.ts_ns = p->ts_ns != 0 ? p->ts_ns : ts_end * kNanosPerSecond;
    out.tags.reserve(p->n_tags);
    for (size_t i = 0; i < p->n_tags; ++i) {
      const nm_tag_v1& t = p->tags[i];
      if (t.key == nullptr || t.key[0] == '\0' || t.value == nullptr) {
        return "add_point with a null or empty tag";
      }
      out.tags.emplace_back(t.key, t.value);
    }
    out.fields.reserve(p->n_fields);
    for (size_t i = 0; i < p->n_fields; ++i) {
      const nm_field_v1& f = p->fields[i];
      if (f.key == nullptr || f.key[0] == '\0') {
        return "add_point with a field without a key";
      }
      switch (f.type) {
        case NM_FIELD_DOUBLE:
          if (!std::isfinite(f.double_value)) {
            return "add_point with a NaN or infinite field";  // no sink can store it
          }
          out.fields.emplace_back(f.key, f.double_value);
          break;
        case NM_FIELD_INT:
          out.fields.emplace_back(f.key, f.int_value);
          break;
        case NM_FIELD_STRING:
          if (f.string_value == nullptr) {
            return "add_point with a null string field";
          }
          out.fields.emplace_back(f.key, std::string(f.string_value));
          break;
        case NM_FIELD_BOOL:
          out.fields.emplace_back(f.key, f.int_value != 0);
          break;
        default:
          return "add_point with an unknown field type";
      }
    }
    return nullptr;
  }

  void refuse(Counter& counter, bool& logged, const char* why) {
    counter.add();
    if (!logged) {
      logged = true;
      spdlog::warn("plugin {}: {} (ignored; further ones are only counted)", name_, why);
    }
  }

  SharedLibrary library_;          // first member: closed last
  const nm_plugin_v1 descriptor_;  // a copy; its functions live in library_
  const std::string name_;
  const int priority_;
  void* self_ = nullptr;
  nm_host_v1 host_{};
  std::string deployment_;
  PluginState* state_ = nullptr;
  std::vector<nm_sample_v1> samples_;  // reused between records
  Counter* invalid_point_ = nullptr;
  Counter* invalid_device_name_ = nullptr;
  bool logged_invalid_point_ = false;
  bool logged_invalid_name_ = false;
};

}  // namespace

std::unique_ptr<Plugin> adaptCPlugin(SharedLibrary library, const nm_plugin_v1& descriptor) {
  return std::make_unique<CAbiPlugin>(std::move(library), descriptor);
}

}  // namespace nm
