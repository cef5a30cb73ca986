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
endif()

# CUDA is optional: with nvcc present the CUDA sources compile (CI compiles
# them; only a GPU machine runs them).
set(SPINDLE_HAVE_CUDA OFF)
if(NOT SPINDLE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(SPINDLE_HAVE_CUDA ON)
    message(STATUS "spindle: CUDA ${CMAKE_CUDA_COMPILER_VERSION} found, CUDA sources compile")
  elseif(SPINDLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPINDLE_CUDA=ON but no nvcc was found; install the CUDA Toolkit or pass -DSPINDLE_CUDA=OFF")
  endif()
endif()
