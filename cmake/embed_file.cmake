# embed_file.cmake — write a C source defining the bytes of a file as an array
# (NUL-terminated) and its length. Run as a script:
#   cmake -DIN=file -DOUT=file.c -DNAME=symbol [-DHEADER=header.h] -P embed_file.cmake
# Used for the QMP schema (src/qmp/qapi-schema.json): no tool beyond CMake.
if(NOT IN OR NOT OUT OR NOT NAME)
  message(FATAL_ERROR "embed_file.cmake needs IN, OUT and NAME")
endif()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line (CMake regexes have no {n}: spell the repetition out).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
get_filename_component(in_name "${IN}" NAME)
set(include "")
if(HEADER)
  set(include "#include \"${HEADER}\"\n")
endif()
file(WRITE "${OUT}.tmp"
  "/* Generated from ${in_name} by cmake/embed_file.cmake: do not edit. */\n"
  "#include <stddef.h>\n${include}\n"
  "const unsigned char ${NAME}[] = {\n    ${bytes}0x00\n};\n"
  "const size_t ${NAME}_len = ${len};\n")
# Only touch OUT when it changes, so that nothing rebuilds needlessly.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
