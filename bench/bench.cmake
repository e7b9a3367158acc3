# Benchmarks land in build/bench/; each prints a table, or one JSON object with --json.
file(GLOB VMIG_BENCH_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.c)
foreach(src ${VMIG_BENCH_SRCS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(bench_${name} ${src})
  set_target_properties(bench_${name} PROPERTIES OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(bench_${name} PRIVATE vmig_static vmig_internal)
endforeach()

# The migration benchmarks are python drivers (bench/precopy.py,
# bench/monitor_latency.py, bench/compress.py, bench/multifd.py, bench/tls.py)
# over vmig-vmm, QEMU 7.2 and the C helpers above (loopback_ceiling, zero_scan). Their smoke tests only check that each runs
# (64 MiB, 1 run) and prints one JSON object with every key: no timing is
# asserted. 77 = skipped (vmig-vmm cannot migrate yet); without QEMU the qemu
# keys are null.
if(VMIG_BUILD_TESTS)
  find_program(VMIG_BENCH_PYTHON3 python3)
  if(VMIG_BENCH_PYTHON3)
    foreach(b precopy monitor_latency compress multifd tls)
      add_test(NAME bench/${b}_smoke
        COMMAND ${VMIG_BENCH_PYTHON3} ${CMAKE_SOURCE_DIR}/bench/smoke_check.py
                ${CMAKE_SOURCE_DIR}/bench/${b}.py
                --build ${CMAKE_BINARY_DIR} --vmm $<TARGET_FILE:vmig-vmm>)
      set_tests_properties(bench/${b}_smoke PROPERTIES LABELS "bench" SKIP_RETURN_CODE 77
        TIMEOUT 600 RESOURCE_LOCK vmig_bench)
    endforeach()
  else()
    message(STATUS "python3 not found: bench smoke tests not registered")
  endif()
endif()
