// Runs a backward on the calling thread. libtorch's autograd gives each GPU
// one worker thread that executes the CUDA nodes of every backward in the
// process; a node that waits on a collective there would block every other
// rank's backward in the same process (virtual ranks sharing one GPU), and
// NCCL wants one issuing thread per process anyway. Disabling autograd's
// multithreading (libtorch >= 2.0) keeps all nodes on the caller's thread.
// On older libtorch (Debian's 1.13, CPU only) CPU nodes already run there.
#pragma once

#include <c10/core/AutogradState.h>
#include <torch/version.h>

namespace spindle::runtime {

class BackwardOnThisThread {
 public:
#if TORCH_VERSION_MAJOR >= 2
  BackwardOnThisThread()
      : previous_(c10::AutogradState::get_tls_state().get_multithreading_enabled()) {
    c10::AutogradState::get_tls_state().set_multithreading_enabled(false);
  }
  ~BackwardOnThisThread() {
    c10::AutogradState::get_tls_state().set_multithreading_enabled(previous_);
  }

 private:
  bool previous_;
#else
  BackwardOnThisThread() {}  // user-provided: a scoped guard, not an unused variable
  ~BackwardOnThisThread() {}
#endif
  BackwardOnThisThread(const BackwardOnThisThread&) = delete;
  BackwardOnThisThread& operator=(const BackwardOnThisThread&) = delete;
};

}  // namespace spindle::runtime
