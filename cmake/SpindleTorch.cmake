# spindle_use_torch(<target>): links libtorch and reuses one precompiled header
# of <torch/torch.h>, so each torch translation unit skips re-parsing it.
# Keep torch out of headers where possible; only worker/ and its tests use it.

if(NOT TARGET spindle_torch_pch)
  file(WRITE ${CMAKE_BINARY_DIR}/spindle_torch_pch.cc "// anchor for the torch PCH\n")
  add_library(spindle_torch_pch OBJECT ${CMAKE_BINARY_DIR}/spindle_torch_pch.cc)
  target_link_libraries(spindle_torch_pch PUBLIC ${TORCH_LIBRARIES} spindle_warnings)
  target_compile_options(spindle_torch_pch PUBLIC ${TORCH_CXX_FLAGS})
  target_precompile_headers(spindle_torch_pch PUBLIC <torch/torch.h>)
endif()

function(spindle_use_torch target)
  target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES} spindle_warnings)
  target_compile_options(${target} PRIVATE ${TORCH_CXX_FLAGS})
  target_precompile_headers(${target} REUSE_FROM spindle_torch_pch)
endfunction()
