# tests/demo/demo_tool.cmake — `vmig demo` end to end (python3): live migrations
# between two vmig-vmm, verification that passes and one that must fail, usage,
# timeout and SIGINT cleanup. Labels "demo;integration"; 77 means skipped.
find_program(VMIG_PYTHON3 python3)
if(NOT VMIG_PYTHON3)
  message(STATUS "python3 not found: vmig demo tests not registered")
  return()
endif()
foreach(case sim kvm unix usage corrupt timeout interrupt)
  add_test(NAME demo/vmig_demo_${case}
    COMMAND ${VMIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/demo/test_vmig_demo.py ${case}
            --vmig $<TARGET_FILE:vmig> --vmm $<TARGET_FILE:vmig-vmm>)
  set_tests_properties(demo/vmig_demo_${case} PROPERTIES LABELS "demo;integration"
    SKIP_RETURN_CODE 77 TIMEOUT 240)
endforeach()
