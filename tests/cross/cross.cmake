# The aarch64 assembly switch, cross-built and run under qemu-user (x86-64 hosts
# only); skipped (77) when the cross tools are not installed.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  add_test(NAME cross/aarch64_switch
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cross/run.sh ${CMAKE_BINARY_DIR}/tests/cross)
  set_tests_properties(cross/aarch64_switch PROPERTIES LABELS "cross" SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
