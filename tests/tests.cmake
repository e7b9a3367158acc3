# Tests: one executable per file tests/<layer>/test_*.c, each a ctest test with
# the label of its layer ("coroutine", ...), cmocka for assertions.
file(GLOB VMIG_TEST_DIRS LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/tests/*)
foreach(dir ${VMIG_TEST_DIRS})
  if(NOT IS_DIRECTORY ${dir})
    continue()
  endif()
  get_filename_component(layer ${dir} NAME)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/test_*.c)
  foreach(src ${srcs})
    get_filename_component(name ${src} NAME_WE)
    set(target ${layer}_${name})
    add_executable(${target} ${src})
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    target_link_libraries(${target} PRIVATE vmig_static vmig_internal PkgConfig::CMOCKA)
    # tests/vmig_test.h, shared by every layer's tests.
    target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
    add_test(NAME ${layer}/${name} COMMAND ${target})
    # 77: a test that cannot run in this build says so and shows as skipped.
    set_tests_properties(${layer}/${name} PROPERTIES LABELS "${layer};unit" TIMEOUT 120
      SKIP_RETURN_CODE 77)
  endforeach()
endforeach()
# The install test (an out-of-tree program against an installed vmig), label "integration".
include(${CMAKE_SOURCE_DIR}/tests/install/install.cmake)
# Interop tests against QEMU 7.2 (label "interop"; skipped without qemu-system-x86_64).
include(${CMAKE_SOURCE_DIR}/tests/interop/interop.cmake)
# vmig-vmm's monitor and `vmig qmp` through real sockets (labels "qmp", "integration").
include(${CMAKE_SOURCE_DIR}/tests/qmp/vmm.cmake)
# The aarch64 context switch under qemu-user (label "cross").
include(${CMAKE_SOURCE_DIR}/tests/cross/cross.cmake)
# vmig-vmm as a migration peer: URIs, cancel/failure, layouts, QEMU interop.
include(${CMAKE_SOURCE_DIR}/tests/migration/migrate.cmake)
# The migration tests: fixtures for the parameter tests, the QMP shape test.
include(${CMAKE_SOURCE_DIR}/tests/migration/migration.cmake)
# `vmig demo` end to end (labels "demo", "integration").
include(${CMAKE_SOURCE_DIR}/tests/demo/demo_tool.cmake)
# vmig-vmm --machine demo (sim and KVM vCPUs) migrating (labels "demo", "integration").
include(${CMAKE_SOURCE_DIR}/tests/demo/demo.cmake)
# test_resource_bounds watches every allocation the library makes.
if(TARGET fault_test_resource_bounds)
  target_link_options(fault_test_resource_bounds PRIVATE
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign)
endif()
# The destination's memory bound under good and hostile streams (label "fault").
include(${CMAKE_SOURCE_DIR}/tests/fault/fault.cmake)
