// Entry point of the rexrag addon: each napi/ module registers its functions and classes on the exports.
#include <napi.h>

#include <cstdlib>

#include "core/block_cache.h"
#include "core/runtime.h"
#include "napi/checks.h"
#include "napi/encoder.h"
#include "napi/handles.h"
#include "napi/process_group.h"
#include "napi/runtime.h"
#include "napi/vector_search.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Before any worker thread allocates: REXRAG_MALLOC_ARENAS=0 keeps glibc's default.
  const char* arenas = std::getenv("REXRAG_MALLOC_ARENAS");
  rexrag::limit_malloc_arenas(arenas != nullptr ? std::atoi(arenas) : 2);
  // Opt-in: a fixed mmap threshold keeps a long run's resident memory flat but makes small models' tensor
  // work up to 2x slower (README "Memory"). glibc's own MALLOC_MMAP_THRESHOLD_ wins when set.
  const char* threshold = std::getenv("REXRAG_MALLOC_MMAP_THRESHOLD");
  if (threshold != nullptr && std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    rexrag::fix_mmap_threshold(std::atol(threshold));
  }
  // Freed tensor blocks are kept for reuse, up to a budget (default 1 GiB; 0 turns the cache off): page faults
  // on fresh memory dominated small models' steps (README "Memory").
  const char* cache = std::getenv("REXRAG_CPU_BLOCK_CACHE");
  rexrag::install_block_cache(cache != nullptr ? std::atoll(cache) : int64_t{1} << 30);
  rexrag::napi::register_runtime(env, exports);
  rexrag::napi::register_policy(env, exports);
  rexrag::napi::register_session(env, exports);
  rexrag::napi::register_trainer(env, exports);
  rexrag::napi::register_encoder(env, exports);
  rexrag::napi::register_checks(env, exports);
  rexrag::napi::register_process_group(env, exports);
  rexrag::napi::register_vector_search(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(rexrag, Init)
