# tests/install/install.cmake — registers the install test (tests/install/run.sh)
# as ctest test install/out_of_tree, label "integration" (not "unit").
set(_vmig_install_cflags "")
if(VMIG_SANITIZE)
  set(_vmig_install_cflags "-fsanitize=address,undefined")
endif()
add_test(NAME install/out_of_tree
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/run.sh ${CMAKE_BINARY_DIR})
set_tests_properties(install/out_of_tree PROPERTIES
  LABELS "integration;install"
  TIMEOUT 300
  ENVIRONMENT "CC=${CMAKE_C_COMPILER};VMIG_INSTALL_TEST_CFLAGS=${_vmig_install_cflags}")
unset(_vmig_install_cflags)
