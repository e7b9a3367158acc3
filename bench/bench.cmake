# Benchmarks land in build/bench/; each prints a table, or one JSON object with --json.
file(GLOB VMIG_BENCH_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.c)
foreach(src ${VMIG_BENCH_SRCS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(bench_${name} ${src})
  set_target_properties(bench_${name} PROPERTIES OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(bench_${name} PRIVATE vmig_static vmig_internal)
endforeach()
