# Checks the dynamic symbol table of liblstmkit.so: it must export the C API
# (every lstmkit_* function that include/lstmkit/lstmkit.h declares) and the
# C++ API (namespace lstmkit, with lstmkit::Error's type information), and
# nothing else: no Highway, oneTBB or standard-library internals. It also
# checks the SONAME.
#
#   cmake -DLIBRARY=<liblstmkit.so> -DHEADER=<lstmkit.h> -DSONAME=<expected>
#         -DNM=<nm> -DREADELF=<readelf> -P exported_symbols_test.cmake
cmake_minimum_required(VERSION 3.20)

foreach(variable LIBRARY HEADER SONAME NM READELF)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "exported_symbols_test: set -D${variable}=...")
  endif()
endforeach()

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
  OUTPUT_VARIABLE nm_output RESULT_VARIABLE nm_result)
if(NOT nm_result EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}: ${nm_result}")
endif()
string(REPLACE "\n" ";" lines "${nm_output}")

# The mangled forms of the C++ API: names in namespace lstmkit (_ZN7lstmkit,
# _ZNK7lstmkit for const members) and their type information and virtual
# tables (_ZTI, _ZTS, _ZTV).
set(cxx_api_pattern "^_Z(N|NK|TIN|TSN|TVN)7lstmkit")
set(exported "")
set(unexpected "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX REPLACE "^.* " "" symbol "${line}")
  list(APPEND exported "${symbol}")
  if(NOT symbol MATCHES "^lstmkit_[a-z0-9_]+$" AND
     NOT symbol MATCHES "${cxx_api_pattern}")
    list(APPEND unexpected "${symbol}")
  endif()
endforeach()

set(failures "")
if(unexpected)
  execute_process(COMMAND c++filt ${unexpected} OUTPUT_VARIABLE readable)
  list(LENGTH unexpected count)
  string(APPEND failures
    "${count} symbols outside the API are exported:\n${readable}\n")
endif()

# Every function the C header declares is exported.
file(READ ${HEADER} header)
string(REGEX MATCHALL "LSTMKIT_C_API[^;(]*[^a-z0-9_]lstmkit_[a-z0-9_]+\\("
  declared "${header}")
set(c_functions 0)
foreach(declaration IN LISTS declared)
  string(REGEX REPLACE ".*[^a-z0-9_](lstmkit_[a-z0-9_]+)\\($" "\\1" function
    "${declaration}")
  math(EXPR c_functions "${c_functions} + 1")
  if(NOT function IN_LIST exported)
    string(APPEND failures "${function} is declared but not exported\n")
  endif()
endforeach()
if(c_functions LESS 29)
  string(APPEND failures "found only ${c_functions} functions in ${HEADER}\n")
endif()
# The C++ API is there too, with what `catch (const lstmkit::Error&)` needs.
foreach(symbol _ZN7lstmkit7VersionEv _ZTIN7lstmkit5ErrorE)
  if(NOT symbol IN_LIST exported)
    string(APPEND failures "${symbol} is not exported\n")
  endif()
endforeach()

execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE dynamic)
if(NOT dynamic MATCHES "\\(SONAME\\)[^\n]*\\[${SONAME}\\]")
  string(APPEND failures "the SONAME is not ${SONAME}:\n${dynamic}\n")
endif()

if(failures)
  message(FATAL_ERROR "${LIBRARY}:\n${failures}")
endif()
list(LENGTH exported total)
message(STATUS "${LIBRARY}: SONAME ${SONAME}; ${total} symbols exported, "
               "${c_functions} C functions and the rest in namespace lstmkit")
