# Third-party packages, all from Debian 12 (scripts/setup.sh installs them).

find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Gloo CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

# Debian's Gloo config names its library but sets no include path on it.
if(TARGET gloo)
  set_property(TARGET gloo APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES ${GLOO_INCLUDE_DIRS})
endif()

if(SPINDLE_WITH_TORCH)
  find_package(Torch CONFIG REQUIRED)
  message(STATUS "spindle: libtorch ${Torch_VERSION} from ${Torch_DIR}")
  # ATen's headers require C++20 from libtorch 2.12 on.
  if(Torch_VERSION VERSION_GREATER_EQUAL 2.12)
    set(CMAKE_CXX_STANDARD 20)
  endif()
endif()

# CUDA is optional: with nvcc present the CUDA sources compile (CI compiles
# them; only a GPU machine runs them).
set(SPINDLE_HAVE_CUDA OFF)
if(NOT SPINDLE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # One shared CUDA runtime in the process, the one libtorch and NCCL use,
    # rather than a static copy in our objects beside it.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(SPINDLE_HAVE_CUDA ON)
    # -gencode pairs rather than CUDA_ARCHITECTURES: sm_90a (wgmma, setmaxnreg)
    # needs the explicit compute_90a form with nvcc 13.0. compute_80 PTX rides
    # along so GPUs newer than Hopper JIT the sm_80 path instead of failing
    # with "no kernel image".
    set(SPINDLE_CUDA_GENCODE
      "-gencode=arch=compute_80,code=sm_80;-gencode=arch=compute_90a,code=sm_90a;-gencode=arch=compute_80,code=compute_80"
      CACHE STRING "nvcc -gencode flags for Spindle's kernels")
    message(STATUS "spindle: CUDA ${CMAKE_CUDA_COMPILER_VERSION} found, CUDA sources compile")
    # NCCL: the CUDA Toolkit's copy, a system package, or NCCL_ROOT (the pip
    # wheel nvidia-nccl-cu13 keeps it under site-packages/nvidia/nccl).
    find_path(SPINDLE_NCCL_INCLUDE_DIR nccl.h
      HINTS $ENV{NCCL_ROOT}/include ${CUDAToolkit_INCLUDE_DIRS})
    find_library(SPINDLE_NCCL_LIBRARY NAMES nccl libnccl.so.2
      HINTS $ENV{NCCL_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
    set(SPINDLE_HAVE_NCCL OFF)
    if(SPINDLE_NCCL_INCLUDE_DIR AND SPINDLE_NCCL_LIBRARY)
      set(SPINDLE_HAVE_NCCL ON)
      message(STATUS "spindle: NCCL ${SPINDLE_NCCL_LIBRARY}")
    endif()
  elseif(SPINDLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPINDLE_CUDA=ON but no nvcc was found; install the CUDA Toolkit or pass -DSPINDLE_CUDA=OFF")
  endif()
endif()

# A CUDA libtorch (TorchConfig finds c10_cuda) plus nvcc: the torch adapter
# dispatches CUDA tensors to kernels/cuda (worker/sp/attention_adapter_cuda.cc).
set(SPINDLE_TORCH_CUDA OFF)
if(SPINDLE_WITH_TORCH AND SPINDLE_HAVE_CUDA AND C10_CUDA_LIBRARY)
  set(SPINDLE_TORCH_CUDA ON)
  message(STATUS "spindle: CUDA libtorch (${C10_CUDA_LIBRARY}); CUDA tensors use Spindle's kernels")
endif()
