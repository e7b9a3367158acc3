# vmig_pc.cmake — run at install time (from CMakeLists.txt's install(CODE)) to
# write vmig.pc for the prefix actually installed to. Inputs: VMIG_PC_IN,
# VMIG_PC_OUT, VMIG_PC_VERSION, VMIG_PC_LIBDIR, VMIG_PC_INCLUDEDIR (the
# GNUInstallDirs values, relative to the prefix or absolute); CMAKE_INSTALL_PREFIX
# is the install's prefix (DESTDIR not included, as pkg-config wants).
set(VMIG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${VMIG_PC_${kind}}")
    set(VMIG_PC_${kind}_PC "${VMIG_PC_${kind}}")
  else()
    set(VMIG_PC_${kind}_PC "\${prefix}/${VMIG_PC_${kind}}")
  endif()
endforeach()
configure_file("${VMIG_PC_IN}" "${VMIG_PC_OUT}" @ONLY)
