# Fuzz harnesses: every fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput.
# VMIG_FUZZ=OFF (gcc or clang): build/fuzz/<name>_replay, the harness plus
#   fuzz/replay_main.c, which runs each file (or every file of a directory)
#   given on the command line once.
# VMIG_FUZZ=ON (clang): build/fuzz/<name>, a libFuzzer binary.
# Either way ctest gets fuzz/<name>_replay (labels fuzz;unit) replaying the
# seed corpus fuzz/corpus/<name>/.
file(GLOB VMIG_FUZZ_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
if(VMIG_FUZZ_SRCS AND NOT VMIG_FUZZ)
  add_library(vmig_fuzz_replay_main OBJECT ${CMAKE_SOURCE_DIR}/fuzz/replay_main.c)
endif()
foreach(src ${VMIG_FUZZ_SRCS})
  get_filename_component(name ${src} NAME_WE)
  set(corpus ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
  if(VMIG_FUZZ)
    add_executable(${name} ${src})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set(exe ${name})
    set(args -runs=0 ${corpus})
  else()
    set(exe ${name}_replay)
    add_executable(${exe} ${src} $<TARGET_OBJECTS:vmig_fuzz_replay_main>)
    set(args ${corpus})
  endif()
  set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  target_link_libraries(${exe} PRIVATE vmig_static vmig_internal)
  if(name STREQUAL "fuzz_incoming")
    # The demo VMM's devices, as vmig-vmm registers them.
    target_sources(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/src/tools/vmig-vmm/vmm_cpu.c
                                  ${CMAKE_SOURCE_DIR}/src/tools/vmig-vmm/vmm_serial.c)
    target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/src/tools/vmig-vmm)
  endif()
  if(VMIG_BUILD_TESTS AND EXISTS ${corpus})
    add_test(NAME fuzz/${name}_replay COMMAND ${exe} ${args})
    set_tests_properties(fuzz/${name}_replay PROPERTIES LABELS "fuzz;unit" TIMEOUT 300)
  endif()
endforeach()
