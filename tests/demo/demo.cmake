# tests/demo/demo.cmake — vmig-vmm --machine demo to vmig-vmm (python3): the
# simulated vCPU and the KVM guest (skipped with 77 without /dev/kvm) over
# tcp and unix, and auto-converge slowing the vCPU. Labels "demo;integration".
find_program(VMIG_DEMO_PYTHON3 python3)
if(NOT VMIG_DEMO_PYTHON3)
  message(STATUS "python3 not found: demo integration tests not registered")
  return()
endif()
foreach(case sim-tcp sim-unix kvm-tcp kvm-unix sim-auto-converge kvm-auto-converge)
  add_test(NAME demo/vmm_${case}
    COMMAND ${VMIG_DEMO_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/demo/test_demo_vmm.py ${case}
            --vmm $<TARGET_FILE:vmig-vmm>)
  set_tests_properties(demo/vmm_${case} PROPERTIES LABELS "demo;integration"
    SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()
