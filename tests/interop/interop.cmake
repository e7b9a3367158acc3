# interop.cmake — interop tests against QEMU 7.2 (label "interop", not "unit"):
# each skips (exit 77) with a message when qemu-system-x86_64 is not installed.
find_program(VMIG_PYTHON3 python3)
if(NOT VMIG_PYTHON3)
  message(STATUS "python3 not found: interop tests not registered")
  return()
endif()
foreach(case ram-zero ram-random ram-mixed ram-compress ram-xbzrle ram-xbzrle-compress
    pc-sections truncation)
  add_test(NAME interop/analyze_${case}
    COMMAND ${VMIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/interop/test_analyze.py ${case}
            --vmig $<TARGET_FILE:vmig>)
  set_tests_properties(interop/analyze_${case} PROPERTIES LABELS "interop"
    SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
