# tests/qmp/vmm.cmake — vmig-vmm's monitor through real sockets (python3):
# shape tests against QEMU 7.2's fixtures (and live QEMU when installed,
# else skipped with 77) and integration tests of the vmm and `vmig qmp`.
find_program(VMIG_PYTHON3 python3)
if(NOT VMIG_PYTHON3)
  message(STATUS "python3 not found: vmig-vmm QMP tests not registered")
  return()
endif()
foreach(mode fixtures live)
  add_test(NAME qmp/shapes_${mode}
    COMMAND ${VMIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/qmp/test_shapes.py ${mode}
            --vmm $<TARGET_FILE:vmig-vmm>)
  set_tests_properties(qmp/shapes_${mode} PROPERTIES LABELS "qmp" SKIP_RETURN_CODE 77
    TIMEOUT 120)
endforeach()
foreach(case stop-cont quit signals fds prelaunch sockets cli usage)
  add_test(NAME qmp/vmm_${case}
    COMMAND ${VMIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/qmp/test_vmm.py ${case}
            --vmm $<TARGET_FILE:vmig-vmm> --vmig $<TARGET_FILE:vmig>)
  set_tests_properties(qmp/vmm_${case} PROPERTIES LABELS "qmp;integration" TIMEOUT 120)
endforeach()
# object-add / object-del / --object (tls-creds-*, authz-*), and the same
# requests against QEMU 7.2 when installed; 77 without openssl.
add_test(NAME qmp/vmm_objects
  COMMAND ${VMIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/qmp/test_objects.py
          --vmm $<TARGET_FILE:vmig-vmm>)
set_tests_properties(qmp/vmm_objects PROPERTIES LABELS "qmp;integration" SKIP_RETURN_CODE 77
  TIMEOUT 120)
