# tests/fault/fault.cmake — fault integration tests (python3): the memory
# bound of a vmig-vmm destination (its peak RSS stays within its RAM plus a
# fixed bound) for good migrations (precopy, compress, xbzrle, multifd
# zstd/zlib) and hostile streams (hand-written ones, the fuzz corpora).
# One ctest test per case, labels "fault;integration"; each test bounds
# itself in time too.
find_program(VMIG_PYTHON3 python3)
if(NOT VMIG_PYTHON3)
  message(STATUS "python3 not found: fault integration tests not registered")
  return()
endif()
set(_fault_dir ${CMAKE_SOURCE_DIR}/tests/fault)
foreach(case precopy compress xbzrle multifd-zstd multifd-zlib multifd-zstd-20 hostile fuzz-corpus)
  add_test(NAME fault/memory_bound_${case}
    COMMAND ${VMIG_PYTHON3} ${_fault_dir}/test_memory_bound.py ${case}
      --vmm $<TARGET_FILE:vmig-vmm>)
  set_tests_properties(fault/memory_bound_${case} PROPERTIES
    LABELS "fault;integration" SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()
