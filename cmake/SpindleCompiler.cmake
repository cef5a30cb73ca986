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
