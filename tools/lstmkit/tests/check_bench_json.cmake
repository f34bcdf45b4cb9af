# Runs a bench runner (lstmkit bench, bench/onednn_runner) on one tiny case
# at --threads 1 and 2 and checks the JSON line of the contract: every field
# there with the right kind of value, and, with SAME_CHECKSUM=ON, the same
# checksum at both thread counts. BIDIRECTIONAL=ON adds --bidirectional and
# PROJ=P adds --proj P; the JSON must echo both.
#
#   cmake -DRUNNER="prog;args" -DMODE=step|infer|train -DIMPL=name
#         [-DSAME_CHECKSUM=ON] [-DBIDIRECTIONAL=ON] [-DPROJ=P]
#         -P check_bench_json.cmake
cmake_minimum_required(VERSION 3.20)

foreach(required RUNNER MODE IMPL)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "check_bench_json: -D${required}=... is required")
  endif()
endforeach()

if(MODE STREQUAL "step")
  set(batch 1)
else()
  set(batch 3)
endif()

set(options)
if(BIDIRECTIONAL)
  list(APPEND options --bidirectional)
else()
  set(BIDIRECTIONAL OFF)
endif()
if(NOT DEFINED PROJ)
  set(PROJ 0)
endif()
list(APPEND options --proj ${PROJ})

function(require_number json field)
  string(JSON value ERROR_VARIABLE missing GET "${json}" ${field})
  if(missing)
    message(FATAL_ERROR "no '${field}' in: ${json}")
  endif()
  if(NOT value MATCHES "^[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$")
    message(FATAL_ERROR "'${field}' is not a non-negative number: ${value}")
  endif()
endfunction()

function(run_case threads out_checksum)
  execute_process(
    COMMAND ${RUNNER} --mode ${MODE} --batch ${batch} --seq 5 --input 4
            --hidden 7 --layers 2 --threads ${threads} --repeat 3 ${options}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "exit ${status}: ${err}")
  endif()
  string(STRIP "${out}" json)
  if(json MATCHES "\n")
    message(FATAL_ERROR "more than one line on stdout: ${out}")
  endif()
  string(JSON impl GET "${json}" impl)
  string(JSON mode GET "${json}" mode)
  if(NOT impl STREQUAL IMPL OR NOT mode STREQUAL MODE)
    message(FATAL_ERROR "impl/mode are ${impl}/${mode}: ${json}")
  endif()
  foreach(field median_ms min_ms max_ms gflops)
    require_number("${json}" ${field})
  endforeach()
  # string(JSON) gives a JSON boolean as ON or OFF.
  string(JSON bidirectional GET "${json}" bidirectional)
  string(JSON proj GET "${json}" proj)
  if(NOT bidirectional STREQUAL BIDIRECTIONAL OR NOT proj EQUAL PROJ)
    message(FATAL_ERROR "bidirectional/proj are ${bidirectional}/${proj}, "
                        "expected ${BIDIRECTIONAL}/${PROJ}: ${json}")
  endif()
  string(JSON has_p50 ERROR_VARIABLE no_p50 GET "${json}" p50_us)
  if(MODE STREQUAL "step")
    require_number("${json}" p50_us)
    require_number("${json}" p99_us)
  elseif(NOT no_p50)
    message(FATAL_ERROR "p50_us outside step mode: ${json}")
  endif()
  string(JSON checksum GET "${json}" checksum)
  if(NOT checksum MATCHES "^[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]$")
    message(FATAL_ERROR "checksum is not 16 hex digits: ${checksum}")
  endif()
  set(${out_checksum} ${checksum} PARENT_SCOPE)
endfunction()

run_case(1 one_thread)
run_case(2 two_threads)
if(SAME_CHECKSUM AND NOT one_thread STREQUAL two_threads)
  message(FATAL_ERROR
    "checksum at 1 thread ${one_thread}, at 2 threads ${two_threads}")
endif()
message(STATUS "${IMPL} ${MODE} ${options}: contract kept, checksum "
               "${one_thread}")
