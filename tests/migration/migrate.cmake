# tests/migration/migrate.cmake — migration integration tests (python3):
# vmig-vmm to vmig-vmm over every URI kind, cancel and failure in each phase,
# streams for another RAM layout, and live migration with QEMU 7.2 in both
# directions, with compress and xbzrle too, multifd between vmig-vmm
# processes and with QEMU (skipped with 77 when
# qemu-system-x86_64 is not installed, or while vmig refuses the capability).
# Labels "migration;integration"; each test bounds itself in time too.
find_program(VMIG_PYTHON3 python3)
if(NOT VMIG_PYTHON3)
  message(STATUS "python3 not found: migration integration tests not registered")
  return()
endif()
set(_mig_dir ${CMAKE_SOURCE_DIR}/tests/migration)
function(vmig_migrate_tests script timeout)
  get_filename_component(_base ${script} NAME_WE)
  string(REGEX REPLACE "^test_migrate_" "" _group ${_base})
  foreach(case ${ARGN})
    add_test(NAME migration/migrate_${_group}_${case}
      COMMAND ${VMIG_PYTHON3} ${_mig_dir}/${script} ${case} --vmm $<TARGET_FILE:vmig-vmm>)
    set_tests_properties(migration/migrate_${_group}_${case} PROPERTIES
      LABELS "migration;integration" SKIP_RETURN_CODE 77 TIMEOUT ${timeout})
  endforeach()
endfunction()
vmig_migrate_tests(test_migrate_uris.py 240
  tcp unix exec file fd stopped dest-paused defer events return-path live postmigrate
  workload auto-converge)
vmig_migrate_tests(test_migrate_cancel.py 240
  cancel-setup cancel-active cancel-pre-switchover cancel-device
  fail-dest-killed fail-dest-refuses fail-connect)
vmig_migrate_tests(test_migrate_layout.py 180
  smaller-stream larger-stream unknown-block truncated good)
vmig_migrate_tests(test_migrate_qemu.py 300
  qemu-to-vmig qemu-to-vmig-stopped vmig-to-qemu vmig-to-qemu-stopped qemu-to-vmig-rp
  vmig-to-qemu-rp qemu-to-vmig-compress vmig-to-qemu-compress vmig-to-qemu-xbzrle)
vmig_migrate_tests(test_migrate_multifd.py 120
  vmig-to-qemu-none vmig-to-qemu-zlib vmig-to-qemu-zstd qemu-to-vmig-none qemu-to-vmig-zlib
  qemu-to-vmig-zstd vmig-unix exec-refused)
# TLS (x509, PSK, authz-list) between vmig-vmm processes, the refusals, and
# x509 + multifd with QEMU 7.2 both ways (77 without openssl; QEMU cases
# without qemu-system-x86_64).
vmig_migrate_tests(test_migrate_tls.py 90
  x509 x509-multifd psk authz-allowed wrong-ca expired wronghost wrong-tls-hostname
  authz-denied plain-to-tls tls-to-plain vmig-to-qemu qemu-to-vmig)
