#pragma once
// Private to plugins/: an external plugin speaking the C ABI v1 (c_abi/netmicroscope_plugin.h)
// as an nm::Plugin. loader.cc opens and validates the library; this file only adapts it.

#include <memory>
#include <string>

#include "plugins/c_abi/netmicroscope_plugin.h"
#include "plugins/plugin.h"

namespace nm {

// An open dlopen() handle, closed (dlclose) on destruction. Move-only; null when moved from.
class SharedLibrary {
 public:
  SharedLibrary() = default;
  SharedLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  ~SharedLibrary();
  SharedLibrary(SharedLibrary&& other) noexcept;
  SharedLibrary& operator=(SharedLibrary&& other) noexcept;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  void* handle() const { return handle_; }
  const std::string& path() const { return path_; }

 private:
  void* handle_ = nullptr;
  std::string path_;
};

// `descriptor` lives inside `library` and was validated by the loader (abi_version, struct_size,
// name, create/process/destroy non-null). The returned plugin owns the library: on destruction
// it calls destroy(self) and only then closes the library. init() calls create(); process()
// and finish() forward. The plugin's name() is the descriptor's name.
std::unique_ptr<Plugin> adaptCPlugin(SharedLibrary library, const nm_plugin_v1& descriptor);

}  // namespace nm
