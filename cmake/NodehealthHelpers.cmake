# Small helpers shared by the subdirectories.

# nodehealth_library(NAME SOURCES... [DEPS ...]): a static library whose headers are included as
# "probes/...", "agent/...", "exporters/..." from the repository root.
function(nodehealth_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  if(ARG_DEPS)
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  endif()
endfunction()
