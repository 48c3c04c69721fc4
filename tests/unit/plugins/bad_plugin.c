/* Broken plugins the loader must refuse cleanly, one per build:
 *   NM_TEST_BAD_ABI       reports ABI version 99
 *   NM_TEST_SMALL_STRUCT  reports a descriptor smaller than nm_plugin_v1
 *   NM_TEST_NULL_ENTRY    nm_plugin_entry returns NULL
 *   NM_TEST_NO_ENTRY      exports no nm_plugin_entry at all */
#include <stddef.h>

#include "netmicroscope_plugin.h"

NM_PLUGIN_EXPORT int nm_test_bad_plugin_loaded(void);
int nm_test_bad_plugin_loaded(void) {
  return 1;
}

#ifndef NM_TEST_NO_ENTRY
static void* create(const nm_host_v1* host, const char* const* kv, size_t n, char* error,
                    size_t error_len) {
  (void)host;
  (void)kv;
  (void)n;
  (void)error;
  (void)error_len;
  return NULL;
}
static void process(void* self, nm_summary_v1* s) {
  (void)self;
  (void)s;
}
static void destroy(void* self) {
  (void)self;
}

#if defined(NM_TEST_BAD_ABI)
#define ABI 99u
#else
#define ABI NM_PLUGIN_ABI_VERSION
#endif
#if defined(NM_TEST_SMALL_STRUCT)
#define SIZE ((uint32_t)offsetof(nm_plugin_v1, create))
#else
#define SIZE ((uint32_t)sizeof(nm_plugin_v1))
#endif

static const nm_plugin_v1 descriptor = {ABI, SIZE, "bad", 1, create, process, destroy, NULL};

NM_PLUGIN_EXPORT const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version);
const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version) {
  (void)host_abi_version;
#if defined(NM_TEST_NULL_ENTRY)
  (void)descriptor;
  return NULL;
#else
  return &descriptor;
#endif
}
#endif
