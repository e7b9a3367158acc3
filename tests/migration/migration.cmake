# tests/migration/migration.cmake — what the migration tests need beyond the
# generic rules of tests/tests.cmake: the fixture directory for the
# capability/parameter unit tests (test_params_*.c), and the python shape
# test of the migration commands against QEMU 7.2's recorded replies
# (migration/qmp_shapes; skipped with 77 when python3 is missing).
set(VMIG_MIG_FIXTURE_DIR ${CMAKE_SOURCE_DIR}/tests/migration/fixtures/qemu-7.2)
file(GLOB _vmig_params_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/migration/test_params_*.c)
foreach(src ${_vmig_params_tests})
  get_filename_component(name ${src} NAME_WE)
  target_compile_definitions(migration_${name} PRIVATE
    VMIG_MIG_FIXTURES="${VMIG_MIG_FIXTURE_DIR}")
endforeach()

find_program(VMIG_MIG_PYTHON3 python3)
if(VMIG_MIG_PYTHON3)
  add_test(NAME migration/qmp_shapes
    COMMAND ${VMIG_MIG_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/migration/test_qmp_shapes.py
            --vmm $<TARGET_FILE:vmig-vmm>)
  set_tests_properties(migration/qmp_shapes PROPERTIES LABELS "migration;integration"
    SKIP_RETURN_CODE 77 TIMEOUT 300)
else()
  message(STATUS "python3 not found: migration/qmp_shapes not registered")
endif()
