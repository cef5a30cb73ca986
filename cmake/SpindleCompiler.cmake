# Compiler launcher and warning flags shared by every target.

find_program(SPINDLE_CCACHE ccache)
if(SPINDLE_CCACHE)
  # Precompiled headers need these sloppiness flags to be cacheable.
  set(_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${SPINDLE_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_launcher})
  message(STATUS "spindle: compiling through ccache (${SPINDLE_CCACHE})")
endif()

add_library(spindle_warnings INTERFACE)
target_compile_options(spindle_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare>)

# Sanitizer builds (scripts/sanitize.sh): -DSPINDLE_SANITIZE=address,undefined
# instruments every target; undefined behaviour aborts instead of warning.
set(SPINDLE_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined")
if(SPINDLE_SANITIZE)
  add_compile_options(-fsanitize=${SPINDLE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SPINDLE_SANITIZE})
  message(STATUS "spindle: sanitizers ${SPINDLE_SANITIZE}")
endif()

# libFuzzer targets (tests/fuzz/), clang only: -DSPINDLE_FUZZ=ON.
option(SPINDLE_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(SPINDLE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SPINDLE_FUZZ needs clang: configure with CXX=clang++")
endif()
